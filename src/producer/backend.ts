/**
 * TaskBackend: the behaviour every backend shares (SPEC §5), over a TaskStore that each URL scheme
 * implements. Producer side here; the worker side (pulling, running: src/worker) attaches itself with
 * `startWorker`, so nothing here imports it.
 */
import { describeKwargsSchema } from '../job/kwargs-schema.js';
import { DateTime } from 'luxon';
import { BackendClosed, BackendUnavailable, InvalidTaskArguments } from '../model/errors.js';
import { generateTaskIds } from '../job/ids.js';
import type { Job } from '../job/job.js';
import type { Json, JsonObject } from '../model/json.js';
import { getLogger } from '../infra/logger.js';
import { seconds, type QueueOptions } from '../model/options.js';
import { MAX_TIMEOUT_SECONDS, taskLimits, type TaskLimits } from '../model/limits.js';
import type { JobRegistry } from '../job/registry.js';
import type { SchedulerEntry } from '../job/scheduler.js';
import { PeriodicSchedule } from './periodic-schedule.js';
import {
  DEFAULT_IDEMPOTENCY_WINDOW_MS,
  DEFAULT_PAGE_LIMIT,
  MAX_PAGE_LIMIT,
  type Fence,
  type QueueRequestOptions,
  type StoreFilter,
  type TaskEvent,
  type TaskStore,
} from '../store/contract.js';
import { Task, type WireTask } from '../model/task.js';
import { TaskWaiters } from './task-waiters.js';
import { BackendEvents } from './backend-events.js';
import { checkSearch, searchPage, searching, type TaskSearch } from './task-search.js';
import { TaskDecoder } from './task-decoder.js';
import { buildTask, idempotencyKeyOf, nonNegativeInt, positiveInt, type QueueItem } from './task-builder.js';
import type { BackendOptions, JobListEntry, SubscriptionEpoch, TaskFilter, TaskList, TaskListRequest, WorkerSide } from './backend-types.js';

export type { QueueItem };

export type { BackendOptions, JobListEntry, TaskFilter, TaskList, TaskListRequest, WorkerSide } from './backend-types.js';

/** The options of a queue without idempotency keys: its ids were all just made (buildTask). */
const FRESH_IDS: QueueRequestOptions = Object.freeze({ freshIds: true });

/** Queue, read, wait, listen and schedule tasks of one application. */
export class TaskBackend {
  readonly name: string;
  readonly url: string;
  readonly registry: JobRegistry;
  readonly schedulePeriodic: boolean;
  /** Tasks allowed to run at once in a worker. */
  readonly backlog: number;
  readonly maxTasks: number;
  readonly pollTimeout: number;
  readonly leaseTimeout: number;
  readonly maxRedeliveries: number;
  readonly idempotencyWindowMs: number;
  /** Size bounds per task: checked when queueing (kwargs, meta) and when a run ends (result). */
  readonly limits: TaskLimits;
  /** Periodic jobs: their entries, the tick, `nextScheduled`. */
  readonly schedule: PeriodicSchedule;
  /** The worker side attached by `startWorker` (src/worker), if any. */
  runtime: WorkerSide | null = null;

  private readonly waiters = new TaskWaiters();
  private readonly events: BackendEvents;
  private readonly decoder: TaskDecoder;
  private closed = false;
  /** Set once close() stopped the worker side: every wait fails from then on. */
  private waitsEnded = false;
  protected readonly log;

  constructor(
    readonly store: TaskStore,
    options: BackendOptions,
  ) {
    this.name = options.name;
    this.url = options.url;
    this.registry = options.registry;
    this.schedulePeriodic = options.schedulePeriodic ?? false;
    this.backlog = positiveInt(options.concurrentTasks ?? 5, 'concurrentTasks');
    this.maxTasks = nonNegativeInt(options.maxTasks ?? 0, 'maxTasks');
    this.pollTimeout = options.pollTimeout ?? 2;
    this.leaseTimeout = options.leaseTimeout ?? 30;
    this.maxRedeliveries = options.maxRedeliveries ?? 1;
    this.limits = taskLimits(options.limits);
    this.idempotencyWindowMs = Math.round(1000 * (options.idempotencyWindow ?? DEFAULT_IDEMPOTENCY_WINDOW_MS / 1000));
    this.log = getLogger(`pulsar.${this.name}.backend`);
    this.events = new BackendEvents(store, this.waiters, this.log);
    this.decoder = new TaskDecoder(this.log);
    this.schedule = new PeriodicSchedule(store, this.registry, this.log, this.schedulePeriodic);
  }

  /** Scheduler entries of periodic jobs, by name (empty unless scheduling). */
  get entries(): ReadonlyMap<string, SchedulerEntry> {
    return this.schedule.entries;
  }

  /** When `tick()` next has work (this process's clock); null when not scheduling. */
  get nextRun(): DateTime | null {
    return this.schedule.nextRun;
  }

  /** Tasks processed by this process's worker side. */
  get processed(): number {
    return this.runtime?.processed ?? 0;
  }

  /** Ids of the tasks running in this process. */
  get concurrentTasks(): ReadonlySet<string> {
    return this.runtime?.running ?? new Set();
  }

  get numConcurrentTasks(): number {
    return this.concurrentTasks.size;
  }

  /** `<name>_<event>`: the channel of an event (stores namespace it further). */
  channel(event: TaskEvent): string {
    return `${this.name}_${event}`;
  }

  /** `[id, lockId]` for a job and its kwargs. */
  generateTaskIds(job: Job, kwargs: JsonObject = {}): [string, string | null] {
    return generateTaskIds(job, kwargs);
  }

  // ---- producing --------------------------------------------------------------------------

  /** Queues one task; resolves to its id, or null when a non-overlap lock held it back. */
  async queueTask(jobName: string, kwargs: JsonObject = {}, options: QueueOptions = {}): Promise<string | null> {
    // Built from the arguments as given (no item object: code optimized for the items of
    // queueTasks never meets a new shape here).
    const nowMs = Date.now();
    const task = buildTask(this.registry, jobName, kwargs, options, nowMs, this.limits);
    const [id] = await this.queueBuilt([task], [idempotencyKeyOf(options)], nowMs);
    return id ?? null;
  }

  /**
   * Queues many tasks in one call (a store may split a large batch into bounded steps). Every item
   * is checked before anything is stored. An item with an `idempotencyKey` already used within
   * the backend's window gives the first task's id and stores nothing.
   */
  async queueTasks(items: readonly QueueItem[]): Promise<(string | null)[]> {
    if (!Array.isArray(items)) throw new InvalidTaskArguments('queueTasks takes an array of { jobName, kwargs?, options? }');
    const nowMs = Date.now();
    const tasks = items.map((item) => buildTask(this.registry, item?.jobName, item?.kwargs, item?.options, nowMs, this.limits));
    if (!tasks.length) return [];
    return this.queueBuilt(
      tasks,
      items.map((item) => idempotencyKeyOf(item?.options)),
      nowMs,
    );
  }

  /** Stores tasks built by buildTask at `nowMs`, with their idempotency keys (null: none). */
  private async queueBuilt(tasks: WireTask[], keys: (string | null)[], nowMs: number): Promise<(string | null)[]> {
    const names = this.schedule.entries.size ? tasks.map((t) => t.name) : [];
    // The store may keep these records as they are: they are the tasks' own (see buildTask).
    // Queued under a live subscription: a wait for one of them needs no first read.
    const epoch = (this.store as Partial<SubscriptionEpoch>).subscriptionEpoch?.() ?? null;
    const tracked = epoch !== null && this.events.subscribed ? tasks.map((t) => t.id) : [];
    this.waiters.track(tracked, epoch ?? 0);
    // Ids buildTask just made: the store need not look for them already stored (QueueRequestOptions).
    const ids = await this.store
      .queue(tasks, keys.some((k) => k !== null) ? { idempotencyKeys: keys, idempotencyWindowMs: this.idempotencyWindowMs, freshIds: true } : FRESH_IDS)
      .catch((err: unknown) => {
        this.waiters.untrack(tracked);
        throw err;
      });
    if (names.length) {
      const now = DateTime.fromMillis(nowMs);
      for (const name of names) this.schedule.counted(name, now);
    }
    return ids;
  }

  // ---- reading ----------------------------------------------------------------------------

  /** The task, or null if there is no such task. */
  async getTask(id: string): Promise<Task | null> {
    const [wire] = await this.store.get([String(id)]);
    return wire ? Task.fromWire(wire) : null;
  }

  /**
   * Tasks matching every given field, newest queued first: at most `MAX_PAGE_LIMIT` (1000) of
   * them. Use `listTasks` to page through more.
   */
  async getTasks(filter: TaskFilter = {}): Promise<Task[]> {
    const tasks: Task[] = [];
    let cursor: string | null = null;
    do {
      const page: TaskList = await this.listTasks({ ...filter, limit: MAX_PAGE_LIMIT - tasks.length, cursor });
      tasks.push(...page.tasks);
      cursor = page.cursor;
    } while (cursor !== null && tasks.length < MAX_PAGE_LIMIT);
    return tasks;
  }

  /** A page of the tasks matching every given field, newest queued first, and the next cursor. */
  async listTasks(request: TaskListRequest = {}): Promise<TaskList> {
    const limit = request.limit ?? DEFAULT_PAGE_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
      throw new InvalidTaskArguments(`limit must be an integer from 1 to ${MAX_PAGE_LIMIT}, got ${String(request.limit)}`);
    }
    if (request.cursor !== undefined && request.cursor !== null && typeof request.cursor !== 'string') {
      throw new InvalidTaskArguments(`cursor must be a string from an earlier page, got ${String(request.cursor)}`);
    }
    const f: StoreFilter = {};
    if (request.ids) f.ids = request.ids.map(String);
    if (request.name) f.name = request.name;
    if (request.status !== undefined) f.status = Array.isArray(request.status) ? request.status : [request.status];
    if (request.fromTask) f.from_task = request.fromTask;
    const search: TaskSearch = { text: request.text, queuedAfter: request.queuedAfter, queuedBefore: request.queuedBefore };
    checkSearch(search);
    const pageRequest = { limit, cursor: request.cursor ?? null };
    const page = searching(search) ? await searchPage(this.store, f, search, pageRequest) : await this.store.list(f, pageRequest);
    return { tasks: this.decoder.decodeAll(page.tasks), cursor: page.cursor };
  }

  /** Tasks queued and not yet started. */
  numTasks(): Promise<number> {
    return this.store.numQueued();
  }

  /** A queued task → REVOKED; false if it already started or does not exist. */
  revokeTask(id: string): Promise<boolean> {
    return this.store.revoke(String(id));
  }

  /** Removes this application's tasks only. */
  flush(): Promise<void> {
    return this.store.flush();
  }

  /**
   * Resolves once the task is ready (null if there is no such task); rejects TaskTimeoutError
   * after `timeout` seconds. Listens before it reads, so no completion is missed.
   */
  async waitForTask(id: string, timeout?: number): Promise<Task | null> {
    if (timeout !== undefined && timeout !== null) seconds(timeout, 'waitForTask timeout', MAX_TIMEOUT_SECONDS);
    if (this.waitsEnded) throw this.closedError();
    try {
      // Waiters need task_done only, subscribed from the start: no listener change is waited for.
      await this.events.subscription();
    } catch (err) {
      // A store outage: the waiter's re-reads ride it out until its own timeout; the next wait
      // subscribes again.
      if (!(err instanceof BackendUnavailable)) throw err;
      this.events.forget();
    }
    const epoch = (this.store as Partial<SubscriptionEpoch>).subscriptionEpoch?.() ?? null;
    const read = (taskId: string) => (this.waitsEnded ? Promise.reject(this.closedError()) : this.getTask(taskId));
    return this.waiters.wait(id, timeout, read, Math.max(1000, this.pollTimeout * 2500), epoch);
  }

  private closedError(): BackendClosed {
    return new BackendClosed(`the backend of ${this.name} is closed (its TaskQueue stopped or restarted: read tq.backend again)`);
  }

  // ---- events -----------------------------------------------------------------------------

  /** Listens to an event of this application, from any process; the listener gets the task id. */
  on(event: TaskEvent, listener: (taskId: string) => void): this {
    this.events.on(event, listener);
    return this;
  }

  off(event: TaskEvent, listener: (taskId: string) => void): this {
    this.events.off(event, listener);
    return this;
  }

  /** Resolves once this backend receives the application's broadcasts it listens to. */
  ensureSubscribed(): Promise<unknown> {
    return this.events.ensureSubscribed();
  }

  /**
   * Stores a progress value and broadcasts `task_progress`. A worker passes its delivery's fence:
   * a run that lost its task then stores nothing.
   */
  async reportProgress(taskId: string, value: Json, fence?: Fence): Promise<void> {
    await this.store.progress(taskId, value, fence);
  }

  // ---- scheduling -------------------------------------------------------------------------

  /**
   * Queues each due periodic job once across every scheduler sharing the store, and sets
   * `nextRun` (see PeriodicSchedule.tick).
   */
  async tick(now?: DateTime): Promise<void> {
    if (!this.closed) await this.schedule.tick(now);
  }

  /**
   * null when not scheduling; `[name, 0]` for the first due entry, else `[name, seconds]` for the
   * soonest; `[jobNames, null]` when no entry matches.
   */
  nextScheduled(jobNames?: string[] | null, now?: DateTime): [string, number] | [string[] | null, null] | null {
    return this.schedule.nextScheduled(jobNames, now);
  }

  /** `[name, {doc, doc_syntax, type, can_overlap, next_run?, run_every?, runs_count?}]` per job. */
  jobList(jobNames?: string[] | null): JobListEntry[] {
    const names = this.registry.names().filter((n) => !jobNames || !jobNames.length || jobNames.includes(n));
    return names.map((name) => {
      const job = this.registry.get(name) as Job;
      const info: { [key: string]: Json } = {
        doc: job.doc,
        doc_syntax: job.docSyntax,
        type: job.type,
        can_overlap: typeof job.canOverlap === 'function' ? 'maybe' : job.canOverlap,
      };
      if (job.kwargsSchema) info.kwargs = describeKwargsSchema(job.kwargsSchema);
      return [name, { ...info, ...this.schedule.entryInfo(name) }];
    });
  }

  // ---- worker side ------------------------------------------------------------------------

  /** Attaches a worker side (`startWorker` does it): `close()` stops it first. */
  attachWorker(side: WorkerSide): void {
    if (this.runtime) throw new Error(`Backend ${this.name} already started as ${this.runtime.worker.id}`);
    this.runtime = side;
  }

  /** Stops pulling (running tasks get the grace period), unsubscribes, closes the store. */
  async close(graceSeconds = 10): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.events.freeze();
    if (this.runtime) await this.runtime.stop(graceSeconds * 1000);
    // Waits on a closed backend can never end (a job still running in the grace period above could
    // wait on it): they fail now, naming why.
    this.waitsEnded = true;
    this.waiters.recheckAll();
    await this.events.close();
    await this.store.close();
  }
}
