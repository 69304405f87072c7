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

/**
 * Told each broadcast of the application. For `task_done`, a store may also hand `stored`: the task
 * as it was stored when it became ready, decoded on each call (a fresh record, or null when it
 * cannot be read from the broadcast), so that a waiter needs no read of its own.
 */
export type EventListener = (event: TaskEvent, taskId: string, stored?: () => WireTask | null) => void;

/** Filter of `list` (wire names). */
export interface StoreFilter {
  ids?: string[];
  name?: string;
  status?: TaskStatus[];
  from_task?: string;
}

/** A page of `list`: at most `limit` tasks from `cursor` on (null: the first page). */
export interface PageRequest {
  /** 1 to MAX_PAGE_LIMIT. */
  limit: number;
  /** Opaque: the `cursor` of the previous page, or null for the first. */
  cursor: string | null;
}

/** Default and largest page of a listing. */
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

/**
 * One page of tasks, newest queued first; `cursor` is null when there is no more. A store may
 * answer fewer than `limit` tasks (even none) with a non-null cursor when it bounded the work of
 * one call: callers page on until the cursor is null.
 */
export interface TaskPage {
  tasks: WireTask[];
  cursor: string | null;
}

/** Options of `queue`. */
export interface QueueRequestOptions {
  /**
   * Per task (same order), a caller-supplied key: a key already used by a task queued less than
   * `idempotencyWindowMs` ago gives that task's id, and nothing new is stored. null: no key.
   */
  idempotencyKeys?: (string | null)[];
  /** How long a key is remembered (ms); default 24 h. */
  idempotencyWindowMs?: number;
  /**
   * The tasks' ids were made for this call (job/ids.ts: 95 random bits) and were never sent: a store
   * may skip looking for a task already stored under each id on the call's first send. Any send
   * of it again (a client's resend after a lost reply) still looks, so that it stores nothing twice.
   */
  freshIds?: boolean;
}

/** Default memory of an idempotency key. */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;

/**
 * Who writes about a delivered task: the worker, and the fencing token the pull minted for this
 * delivery. Every pull of a task mints a new, larger token; a write with any other token than the
 * task's current delivery (or for a task no longer in flight) changes nothing and answers false.
 */
export interface Fence {
  worker: string;
  token: number;
}

/** A task handed to a worker by `pull`, with its fencing token. */
export interface Delivery {
  task: WireTask;
  token: number;
}

/** A delivery named by id (renew, release). */
export interface DeliveryRef {
  id: string;
  token: number;
}

export interface PullRequest {
  /** The worker that will own the tasks. */
  worker: string;
  /** At most this many tasks. */
  max: number;
  /**
   * Each pulled task is owned for this long (the store's clock) unless renewed. redis:// leases
   * per worker: a pull that hands out tasks, or a renewal of any delivery the worker still holds,
   * extends every task it holds to the store's now + the lease.
   */
  leaseMs: number;
  /** When no task is ready, wait up to this long for one (0: answer at once). */
  waitMs: number;
}

export interface RecoverRequest {
  /** Redeliveries allowed per task that had started; past it the task ends FAILURE ('worker lost'). */
  maxRedeliveries: number;
  /** Recover every task this worker holds, leases or not (it is known dead). */
  worker?: string;
}

/** What a recovery did. */
export interface RecoverResult {
  /** Started tasks queued again with a redelivery counted. */
  requeued: string[];
  /** Started tasks past the redelivery bound: FAILURE ('worker lost'). */
  failed: string[];
  /** Pulled tasks that never started: back in the queue, nothing counted. */
  returned: string[];
}

/**
 * Storage and broadcast of one application's tasks. Implementations must make each method atomic
 * with respect to the others (Lua in Redis, one mailbox in local://).
 *
 * One clock: every time a store compares or stamps (leases, due delayed tasks, expiry at pickup,
 * retry delays, periodic claims, purge ages) is the store's own (Redis `TIME`, the arbiter's clock
 * for local://). Callers send durations, never deadlines; a caller whose clock is skewed changes
 * nothing.
 */
export interface TaskStore {
  /**
   * Stores and queues tasks, atomically per task: a task whose `lock_id` is held by a task not yet
   * ready is not stored and gives null; a task whose idempotency key is remembered gives the first
   * task's id. The store stamps `time_queued` with its own clock and shifts `eta` and `expiry` by
   * the same amount (its now − the task's `time_queued`), so the producer's clock does not matter.
   * Publishes `task_queued`. A store may split a large batch into bounded steps.
   */
  queue(tasks: WireTask[], options?: QueueRequestOptions): Promise<(string | null)[]>;
  /** Tasks by id, null where unknown. */
  get(ids: string[]): Promise<(WireTask | null)[]>;
  /** A page of the tasks matching every given field of the filter, newest queued first. */
  list(filter: StoreFilter, page: PageRequest): Promise<TaskPage>;
  /** Tasks waiting for a worker (QUEUED or RETRY, not yet picked). */
  numQueued(): Promise<number>;
  /** A waiting task → REVOKED (time_ended: the store's now), lock released, `task_done` published. */
  revoke(id: string): Promise<boolean>;
  /** Removes this application's tasks, queues, locks, keys and schedule; nothing else. */
  flush(): Promise<void>;
  /** The store's clock, epoch ms. */
  now(): Promise<number>;

  /**
   * Moves up to `max` waiting tasks whose eta has passed (highest priority first, then oldest)
   * into the in-flight set owned by `worker`, each with a new fencing token; waits up to `waitMs`
   * when there are none. A task whose expiry passed (store clock) is not handed out: it ends
   * REVOKED ('expired before it started'), lock released, `task_done` published.
   */
  pull(request: PullRequest): Promise<Delivery[]>;
  /** Saves a task its worker starts (STARTED); publishes `task_started`. False when fenced off. */
  start(task: WireTask, fence: Fence): Promise<boolean>;
  /**
   * Saves a ready task, releases its lock, drops it from in-flight, publishes `task_done`.
   * False (and nothing saved) when fenced off.
   */
  finish(task: WireTask, fence: Fence): Promise<boolean>;
  /**
   * Saves a task in RETRY and queues it again after its `retry_delay` (store clock: the store sets
   * `eta`); drops it from in-flight. False (and nothing saved) when fenced off.
   */
  retry(task: WireTask, fence: Fence): Promise<boolean>;
  /**
   * Extends the leases of these deliveries of `worker` (redis://: of all it holds, when it still
   * holds any of these); resolves to the ids it no longer holds.
   */
  renew(worker: string, deliveries: DeliveryRef[], leaseMs: number): Promise<string[]>;
  /**
   * Hands tasks of a stopping worker back to the queue (all it holds when `deliveries` is
   * omitted): status QUEUED, nothing counted (neither `retries` nor `redeliveries`), its parked
   * pulls ended. Resolves to the ids handed back.
   */
  release(worker: string, deliveries?: DeliveryRef[]): Promise<string[]>;
  /**
   * Tasks whose lease expired (or every task of a dead `worker`): a task that had STARTED goes back
   * to QUEUED with `redeliveries` counted (never `retries`: those count job failures), or past the
   * bound ends FAILURE ('worker lost'), lock released, waiters told through `task_done`; a task
   * pulled but never started goes back with nothing counted. Work is bounded by what expired (or
   * what that worker holds), never by the number of tasks stored.
   */
  recover(request: RecoverRequest): Promise<RecoverResult>;

  /** Broadcasts an event on the application's channel. */
  publish(event: TaskEvent, taskId: string): Promise<void>;
  /** Listens to every event of the application; resolves once listening, to an unsubscribe. */
  subscribe(listener: EventListener): Promise<() => Promise<void>>;
  /**
   * Stores a progress value in `meta.progress` and publishes `task_progress`. With a fence, false
   * (nothing stored) when fenced off.
   */
  progress(taskId: string, value: Json, fence?: Fence): Promise<boolean>;

  /**
   * Claims a due run of periodic job `name` and queues its task in the same atomic step: when the
   * stored last run time is still `previousMs` (null: none stored), stores `ranAtMs` and queues
   * `task` as `queue` would; resolves to the id queued (null when the task's lock is held), or
   * false when another scheduler claimed the run first.
   */
  claimRun(name: string, previousMs: number | null, ranAtMs: number, task: WireTask): Promise<string | null | false>;
  /** Last run time (epoch ms) of each periodic job that ran. */
  lastRuns(): Promise<Record<string, number>>;

  /**
   * Deletes ready tasks that ended more than `olderThanMs` ago (store clock), only those in
   * `statuses` when given (a subset of SUCCESS, FAILURE, REVOKED), at most `limit` of them, oldest
   * first; resolves to how many. Optional: a store without it keeps every result.
   */
  purge?(olderThanMs: number, limit: number, statuses?: TaskStatus[]): Promise<number>;

  /** Ends the parked pulls of `worker` at once (they answer []). Optional: a store without it lets them run out. */
  interrupt?(worker: string): Promise<void>;

  /** Releases connections and timers. */
  close(): Promise<void>;
}

/** Result stored for a task that timed out (REVOKED). */
export function timeoutMessage(seconds: number): string {
  return `timed out after ${seconds} second${seconds === 1 ? '' : 's'}`;
}

/** Result stored for a task that expired before a worker picked it (REVOKED). */
export const EXPIRED_MESSAGE = 'expired before it started';

/** Result stored for a task whose worker was lost too often. */
export function workerLostMessage(redeliveries: number): string {
  return `worker lost: the task's worker died or stopped answering (redelivered ${redeliveries} time${redeliveries === 1 ? '' : 's'})`;
}
