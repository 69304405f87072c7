/**
 * Operations on a queue beyond pulsar's API, run over a TaskBackend where its store lives (the
 * TaskQueue's monitor answers them as one `operation` message): retry an ended task, purge ended
 * tasks, read the periodic jobs' last runs.
 */
import { ImproperlyConfigured, PulsarTasksError } from '../model/errors.js';
import type { JsonObject } from '../model/json.js';
import { FAILURE, READY_STATES, REVOKED, statusString, type TaskStatus } from '../model/states.js';
import type { WireTask } from '../model/task.js';
import type { TaskBackend, TaskListRequest } from './backend.js';

/** `retry`: no task has that id. */
export class TaskNotFound extends PulsarTasksError {
  constructor(readonly taskId: string) {
    super(`no task ${taskId}`);
  }
}

/** `retry`: the task is not FAILURE or REVOKED. */
export class TaskNotRetryable extends PulsarTasksError {
  constructor(
    readonly taskId: string,
    readonly status: string,
  ) {
    super(`task ${taskId} is ${status}: only a FAILURE or REVOKED task can be retried`);
  }
}

/** An operation's arguments cannot work (a bad status or duration). */
export class InvalidOperation extends PulsarTasksError {}

/** The meta key of a retried run that names the task it retries. */
export const RETRY_OF = 'retry_of';

/** Tasks deleted per store call when purging: bounded so the store stays responsive. */
export const PURGE_BATCH = 500;

/** The operations and their arguments. */
export interface OperationArgs {
  retry_task: { id: string };
  purge_tasks: { olderThan: number; statuses?: TaskStatus[] };
  last_runs: Record<never, never>;
  list_tasks: { request: TaskListRequest };
}

/** What each operation resolves to. */
export interface OperationResults {
  /** The new task's id; null when a non-overlap lock held it back. */
  retry_task: string | null;
  /** How many tasks were deleted. */
  purge_tasks: number;
  /** Epoch seconds of each periodic job's last run. */
  last_runs: JsonObject;
  /** A page of tasks (wire form: it crosses a mailbox) and the next cursor. */
  list_tasks: { tasks: WireTask[]; cursor: string | null };
}

/** One operation, as sent to a monitor. */
export type QueueOperation = { [K in keyof OperationArgs]: { op: K } & OperationArgs[K] }[keyof OperationArgs];

/** Runs an operation on `backend`. */
export async function runOperation(backend: TaskBackend, operation: QueueOperation): Promise<OperationResults[keyof OperationResults]> {
  switch (operation.op) {
    case 'retry_task':
      return retryTask(backend, operation.id);
    case 'purge_tasks':
      return purgeTasks(backend, operation.olderThan, operation.statuses);
    case 'last_runs':
      return lastRuns(backend);
    case 'list_tasks': {
      const page = await backend.listTasks(operation.request);
      return { tasks: page.tasks.map((t) => t.toWire()), cursor: page.cursor };
    }
  }
}

/**
 * Queues a new run of a FAILURE or REVOKED task: same job, kwargs, priority, retry policy and
 * timeout, `meta.retry_of` set to the old id (its other meta kept, its progress dropped). The old
 * task is left as it was.
 */
export async function retryTask(backend: TaskBackend, id: string): Promise<string | null> {
  const task = await backend.getTask(id);
  if (!task) throw new TaskNotFound(id);
  if (task.status !== FAILURE && task.status !== REVOKED) throw new TaskNotRetryable(id, task.statusString());
  const meta: JsonObject = Object.fromEntries(Object.entries(task.meta).filter(([key]) => key !== 'progress'));
  meta[RETRY_OF] = task.id;
  return backend.queueTask(task.name, task.kwargs, {
    metaParams: meta,
    priority: task.priority,
    maxRetries: task.maxRetries,
    retryDelay: task.retryDelay,
    timeout: task.timeout,
    fromTask: task.fromTask,
  });
}

/**
 * Deletes ended tasks (SUCCESS, FAILURE, REVOKED) that ended more than `olderThan` seconds ago,
 * a batch at a time; `statuses` narrows them. Resolves to how many were deleted.
 */
export async function purgeTasks(backend: TaskBackend, olderThan: number, statuses?: TaskStatus[]): Promise<number> {
  const store = backend.store;
  if (!store.purge) throw new ImproperlyConfigured(`the store of ${backend.url} cannot purge tasks`);
  if (!Number.isFinite(olderThan) || olderThan < 0) throw new InvalidOperation(`olderThan must be a number of seconds ≥ 0, got ${olderThan}`);
  for (const status of statuses ?? []) {
    if (!READY_STATES.has(status)) throw new InvalidOperation(`only ended tasks (SUCCESS, FAILURE, REVOKED) can be purged, not ${statusString(status)}`);
  }
  let total = 0;
  for (;;) {
    // The age is measured on the store's clock (contract v2).
    const n = await store.purge(olderThan * 1000, PURGE_BATCH, statuses);
    total += n;
    if (n < PURGE_BATCH) return total;
  }
}

async function lastRuns(backend: TaskBackend): Promise<JsonObject> {
  const runs = await backend.store.lastRuns();
  return Object.fromEntries(Object.entries(runs).map(([name, ms]) => [name, ms / 1000]));
}
