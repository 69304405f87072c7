/**
 * The types of TaskBackend's API: its settings, listing requests and pages, job list entries, and
 * what it knows of an attached worker side.
 */
import type { JobRegistry } from '../job/registry.js';
import type { TaskLimits } from '../model/limits.js';
import type { Json } from '../model/json.js';
import type { TaskStatus } from '../model/states.js';
import type { Task } from '../model/task.js';
import type { TaskSearch } from './task-search.js';
import type { TaskEvent } from '../store/contract.js';

/**
 * What the producer side knows of the worker side attached to it (src/worker: `startWorker`), so
 * that the producer API never imports the worker runtime.
 */
export interface WorkerSide {
  readonly worker: { readonly id: string };
  /** Tasks run to their end. */
  readonly processed: number;
  /** Deliveries lost to another (fenced-off writes). */
  readonly lost: number;
  /** Ids of the tasks running. */
  readonly running: ReadonlySet<string>;
  /** Stops pulling; running tasks get `graceMs`, then what remains is handed back. */
  stop(graceMs: number): Promise<void>;
}

/** Settings of a TaskBackend. */
export interface BackendOptions {
  /** The application's name: prefixes channels and keys. */
  name: string;
  /** The URL the store was made from. */
  url: string;
  registry: JobRegistry;
  /** Queue periodic jobs from `tick()`. */
  schedulePeriodic?: boolean;
  /** Tasks a worker runs at once (pulsar's backlog). */
  concurrentTasks?: number;
  /** A worker stops pulling after this many tasks (0: never). */
  maxTasks?: number;
  /** Seconds a pull waits for work before asking again (URL `?poll_timeout=`). */
  pollTimeout?: number;
  /** Seconds a worker owns a pulled task without renewing its lease. */
  leaseTimeout?: number;
  /** Redeliveries of a task whose worker was lost, before it ends FAILURE. */
  maxRedeliveries?: number;
  /** Seconds an idempotency key is remembered (default one day). */
  idempotencyWindow?: number;
  /** Size bounds of kwargs, meta and results per task (model/limits.ts defaults). */
  limits?: Partial<TaskLimits>;
}

/** Filter of `getTasks`. */
export interface TaskFilter {
  ids?: string[];
  name?: string;
  status?: TaskStatus | TaskStatus[];
  fromTask?: string;
}

/**
 * A page request of `listTasks`: the filter, what narrows it beyond the store's indexes (text,
 * queue-time range), at most `limit` tasks (default 100, max 1000), from `cursor`.
 */
export interface TaskListRequest extends TaskFilter, TaskSearch {
  limit?: number;
  cursor?: string | null;
}

/** A page of tasks, newest queued first; `cursor` is null when there is no more. */
export interface TaskList {
  tasks: Task[];
  cursor: string | null;
}

/** An entry of `jobList`: `[name, info]`. */
export type JobListEntry = [string, { [key: string]: Json }];

/**
 * A store client that can narrow the events its subscriptions deliver (local://'s actor client):
 * the backend tells it which events somebody listens to, and no other event is sent to it.
 */
export interface EventFiltering {
  /** May resolve once the store confirmed the change. */
  wantEvents(events: readonly TaskEvent[] | null): void | Promise<void>;
}

/**
 * A store client that can tell whether its subscription may have missed a `task_done` (redis://):
 * null while it may, else an epoch that changes whenever a broadcast may have been lost. A wait for
 * a task queued under the same epoch needs no first read.
 */
export interface SubscriptionEpoch {
  subscriptionEpoch(): number | null;
}
