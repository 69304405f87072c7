/**
 * The store contract: what each URL scheme (local://, redis://, custom) implements. The shared
 * behaviour (ids, validation, execution, scheduling, waiting) lives in TaskBackend over it.
 *
 * Every task crosses this boundary in its wire form. Times are epoch milliseconds here only where
 * the name says `Ms`; task fields keep the wire form's epoch seconds.
 */
import type { Json } from '../model/json.js';
import type { TaskStatus } from '../model/states.js';
import type { WireTask } from '../model/task.js';

/** Events broadcast on an application's channels. */
export type TaskEvent = 'task_queued' | 'task_started' | 'task_done' | 'task_progress';
export const TASK_EVENTS: readonly TaskEvent[] = ['task_queued', 'task_started', 'task_done', 'task_progress'];

export type EventListener = (event: TaskEvent, taskId: string) => void;

/** Filter of `list` (wire names). */
export interface StoreFilter {
  ids?: string[];
  name?: string;
  status?: TaskStatus[];
  from_task?: string;
}

export interface PullRequest {
  /** The worker that will own the tasks. */
  worker: string;
  /** At most this many tasks. */
  max: number;
  /** Each pulled task is owned until now + leaseMs unless renewed. */
  leaseMs: number;
  /** When no task is ready, wait up to this long for one (0: answer at once). */
  waitMs: number;
}

export interface RecoverRequest {
  /** Now, epoch ms. */
  nowMs: number;
  /** Redeliveries allowed per task; past it the task ends FAILURE ('worker lost'). */
  maxRedeliveries: number;
  /** Recover every task this worker owns, leases or not (it is known dead). */
  worker?: string;
}

/** What a recovery did. */
export interface RecoverResult {
  requeued: string[];
  failed: string[];
}

/**
 * Storage and broadcast of one application's tasks. Implementations must make each method atomic
 * with respect to the others (Lua in Redis, one mailbox in local://).
 */
export interface TaskStore {
  /**
   * Stores and queues tasks (status QUEUED or a future `eta`), atomically per task: a task whose
   * `lock_id` is held by a task not yet ready is not stored and gives null. Publishes `task_queued`.
   */
  queue(tasks: WireTask[]): Promise<(string | null)[]>;
  /** Tasks by id, null where unknown. */
  get(ids: string[]): Promise<(WireTask | null)[]>;
  /** Tasks matching every given field of the filter. */
  list(filter: StoreFilter): Promise<WireTask[]>;
  /** Tasks waiting for a worker (QUEUED or RETRY, not yet picked). */
  numQueued(): Promise<number>;
  /** A waiting task → REVOKED (time_ended = nowMs), lock released, `task_done` published. */
  revoke(id: string, nowMs: number): Promise<boolean>;
  /** Removes this application's tasks, queues, locks and schedule; nothing else. */
  flush(): Promise<void>;

  /**
   * Moves up to `max` waiting tasks whose eta has passed (highest priority first, then oldest)
   * into the in-flight set owned by `worker`; waits up to `waitMs` when there are none.
   */
  pull(request: PullRequest): Promise<WireTask[]>;
  /** Saves a task the worker starts (STARTED); publishes `task_started`. False if not its owner. */
  start(task: WireTask, worker: string): Promise<boolean>;
  /**
   * Saves a ready task, releases its lock, drops it from in-flight, publishes `task_done`.
   * False (and nothing saved) when `worker` no longer owns it.
   */
  finish(task: WireTask, worker: string): Promise<boolean>;
  /** Saves a task in RETRY and queues it again for its `eta`; drops it from in-flight. */
  retry(task: WireTask, worker: string): Promise<boolean>;
  /** Extends the leases of these in-flight tasks of `worker`. */
  renew(worker: string, ids: string[], leaseMs: number): Promise<void>;
  /**
   * Tasks whose lease expired (or every task of a dead `worker`) go back to QUEUED with
   * `retries` and `redeliveries` counted, or past the bound end FAILURE ('worker lost'), lock
   * released, waiters told through `task_done`.
   */
  recover(request: RecoverRequest): Promise<RecoverResult>;

  /** Broadcasts an event on the application's channel. */
  publish(event: TaskEvent, taskId: string): Promise<void>;
  /** Listens to every event of the application; resolves once listening, to an unsubscribe. */
  subscribe(listener: EventListener): Promise<() => Promise<void>>;
  /** Stores a progress value in `meta.progress` and publishes `task_progress`. */
  progress(taskId: string, value: Json): Promise<void>;

  /**
   * Claims a due run of periodic job `name` (compare-and-set): when the stored last run time is
   * still `previousMs` (null: none stored), stores `ranAtMs` and resolves true; else false, so
   * several schedulers sharing the store queue each run once.
   */
  claimRun(name: string, previousMs: number | null, ranAtMs: number): Promise<boolean>;
  /** Last run time (epoch ms) of each periodic job that ran. */
  lastRuns(): Promise<Record<string, number>>;

  /**
   * Deletes ready tasks (SUCCESS, FAILURE, REVOKED) that ended before `beforeMs`, at most `limit`
   * of them, oldest first; resolves to how many. Optional: a store without it keeps every result.
   */
  purge?(beforeMs: number, limit: number): Promise<number>;

  /** Ends the parked pulls of `worker` at once (they answer []). Optional: a store without it lets them run out. */
  interrupt?(worker: string): Promise<void>;

  /** Releases connections and timers. */
  close(): Promise<void>;
}

/** Result stored for a task whose worker was lost too often. */
export function workerLostMessage(redeliveries: number): string {
  return `worker lost: the task's worker died or stopped answering (redelivered ${redeliveries} time${redeliveries === 1 ? '' : 's'})`;
}
