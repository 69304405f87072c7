/**
 * MemoryStore: the TaskStore of local://, kept in one process. In an arbiter it lives inside the
 * LocalStore actor, whose mailbox makes each call atomic; workers reach it by messages.
 *
 * One clock: the store's (`clock`, Date.now of the arbiter unless injected). Every structure costs
 * O(log N) per change: ready tasks by priority (a heap of levels), delayed ones in a heap by due
 * time, leases in a heap by deadline and per worker, listings in sorted indexes. Revoking leaves a
 * stale ticket the queues drop when they meet it.
 */
import type { Json } from '../../model/json.js';
import { FAILURE, QUEUED, READY_STATES, REVOKED, type TaskStatus } from '../../model/states.js';
import type { WireTask } from '../../model/task.js';
import {
  DEFAULT_IDEMPOTENCY_WINDOW_MS,
  EXPIRED_MESSAGE,
  workerLostMessage,
  type Delivery,
  type DeliveryRef,
  type EventListener,
  type Fence,
  type PageRequest,
  type PullRequest,
  type QueueRequestOptions,
  type RecoverRequest,
  type RecoverResult,
  type StoreFilter,
  type TaskEvent,
  type TaskPage,
  type TaskStore,
} from '../../store/contract.js';
import { Flights, type Flight } from './memory-flights.js';
import { ParkedPulls, Subscribers } from './memory-queues.js';
import { checkClaim, checkFinished, checkLease, checkPull, checkPurge, checkQueueOptions, checkRecover } from './memory-checks.js';
import { EndedLog, IdempotencyKeys } from './memory-records.js';
import { WaitingTasks } from './memory-waiting.js';
import { StoredTasks, type Entry } from './stored-tasks.js';
import { copierOf, type MemoryStoreOptions } from './memory-options.js';

export type { MemoryStoreOptions } from './memory-options.js';

/** In-memory tasks, ready queues by priority, delayed tasks, leases, locks, subscribers. */
export class MemoryStore implements TaskStore {
  private readonly tasks = new StoredTasks();
  /** What `numQueued` counts and `pull` may take. */
  private readonly waiting: WaitingTasks;
  private readonly flights = new Flights();
  private readonly locks = new Map<string, string>();
  private readonly keys = new IdempotencyKeys();
  private readonly ended = new EndedLog();
  private readonly lastRunTimes = new Map<string, number>();
  private readonly pulls = new ParkedPulls<PullRequest, Delivery>();
  private readonly subscribers = new Subscribers<TaskEvent, string>();
  private closed = false;
  private serveScheduled = false;

  /** Copies a task crossing the store's boundary, unless callers hand tasks over (shareObjects). */
  private readonly copy: <T>(value: T) => T;
  private readonly clock: () => number;

  constructor(
    readonly name: string,
    options: MemoryStoreOptions = {},
  ) {
    this.copy = copierOf(options);
    this.clock = options.clock ?? Date.now;
    this.waiting = new WaitingTasks(this.clock, () => this.servePullers());
  }

  async now(): Promise<number> {
    return this.clock();
  }

  async queue(tasks: WireTask[], options: QueueRequestOptions = {}): Promise<(string | null)[]> {
    const { keys, windowMs } = checkQueueOptions(tasks.length, options);
    const now = this.clock();
    this.keys.expire(now);
    const ids = tasks.map((task, i) => this.queueOne(task, now, keys?.[i] ?? null, windowMs));
    this.servePullers();
    return ids;
  }

  /** Queues one task at store time `now`: its id, the id its key remembers, or null when locked. */
  private queueOne(task: WireTask, now: number, key: string | null, windowMs: number): string | null {
    if (key !== null) {
      const first = this.keys.get(key, now);
      if (first !== undefined) return first;
    }
    // The same task sent again (a resent call): it is queued already.
    if (this.tasks.has(task.id)) return task.id;
    if (task.lock_id) {
      const holder = this.locks.get(task.lock_id);
      const held = holder !== undefined ? this.tasks.get(holder) : undefined;
      if (held && !READY_STATES.has(held.task.status)) return null;
    }
    // The producer's clock does not count: its times move by the gap between the two clocks.
    // Stamped in place: the store's own copy, or an object its caller handed over (shareObjects).
    const shiftS = now / 1000 - task.time_queued;
    const stored = this.copy(task);
    stored.time_queued = now / 1000;
    if (stored.eta !== null) stored.eta += shiftS;
    if (stored.expiry !== null) stored.expiry += shiftS;
    if (stored.lock_id) this.locks.set(stored.lock_id, stored.id);
    if (key !== null) this.keys.remember(key, stored.id, now + windowMs);
    this.waiting.enqueue(this.tasks.add(stored), stored.eta === null ? 0 : stored.eta * 1000, now);
    this.emit('task_queued', stored.id);
    return stored.id;
  }

  /** Hands out up to `max` due tasks to `worker`; an expired one ends REVOKED instead. */
  private take(max: number, worker: string, leaseMs: number): Delivery[] {
    const now = this.clock();
    const entries = this.waiting.take(max, now, (entry) => {
      const task = entry.task;
      if (task.expiry === null || task.expiry * 1000 > now) return true;
      this.complete(entry, { ...task, status: REVOKED, result: EXPIRED_MESSAGE, time_ended: now / 1000 }, now);
      return false;
    });
    return entries.map((entry) => {
      const token = ++entry.token;
      this.flights.add(entry.task.id, worker, token, now + leaseMs);
      return { task: this.copy(entry.task), token };
    });
  }

  async pull(request: PullRequest): Promise<Delivery[]> {
    checkPull(request);
    const deliveries = this.closed ? [] : this.take(request.max, request.worker, request.leaseMs);
    if (deliveries.length || request.waitMs <= 0 || this.closed) return deliveries;
    return this.pulls.park(request);
  }

  private servePullers(): void {
    if (this.waiting.size) this.pulls.serve((r) => this.take(r.max, r.worker, r.leaseMs));
  }

  async interrupt(worker: string): Promise<void> {
    this.pulls.cancel(worker);
  }

  async start(task: WireTask, fence: Fence): Promise<boolean> {
    const flight = this.flights.held(task.id, fence);
    if (!flight) return false;
    flight.started = true;
    this.tasks.save(this.entry(task.id), this.copy(task));
    this.emit('task_started', task.id);
    return true;
  }

  async finish(task: WireTask, fence: Fence): Promise<boolean> {
    checkFinished(task);
    const flight = this.flights.held(task.id, fence);
    if (!flight) return false;
    this.flights.remove(flight);
    this.complete(this.entry(task.id), this.copy(task), this.clock());
    return true;
  }

  /** The entry of a task in flight (a flight's task is always stored). */
  private entry(id: string): Entry {
    return this.tasks.get(id) as Entry;
  }

  /** Saves a ready task, releases its lock, tells waiters. */
  private complete(entry: Entry, task: WireTask, now: number): void {
    this.tasks.save(entry, task);
    this.ended.record(task.id, task.status, now);
    if (task.lock_id && this.locks.get(task.lock_id) === task.id) this.locks.delete(task.lock_id);
    this.emit('task_done', task.id);
  }

  async retry(task: WireTask, fence: Fence): Promise<boolean> {
    const flight = this.flights.held(task.id, fence);
    if (!flight) return false;
    this.flights.remove(flight);
    const now = this.clock();
    const at = now + Math.max(0, task.retry_delay) * 1000;
    const entry = this.entry(task.id);
    this.tasks.save(entry, { ...this.copy(task), eta: at / 1000 });
    this.waiting.enqueue(entry, at, now);
    this.emit('task_queued', task.id);
    this.serveSoon();
    return true;
  }

  /**
   * Serves parked pulls on a later turn: a retried task may go straight back to its own worker's
   * parked pull, and that delivery must not reach the worker before the answer to its retry.
   */
  private serveSoon(): void {
    if (this.serveScheduled) return;
    this.serveScheduled = true;
    setImmediate(() => {
      this.serveScheduled = false;
      if (!this.closed) this.servePullers();
    });
  }

  async renew(worker: string, deliveries: DeliveryRef[], leaseMs: number): Promise<string[]> {
    checkLease(leaseMs);
    const deadline = this.clock() + leaseMs;
    const lost: string[] = [];
    for (const { id, token } of deliveries) {
      const flight = this.flights.held(id, { worker, token });
      if (flight) this.flights.renew(flight, deadline);
      else lost.push(id);
    }
    return lost;
  }

  async release(worker: string, deliveries?: DeliveryRef[]): Promise<string[]> {
    // Cancelled first, so that the worker's own parked pulls do not take back what it hands back.
    this.pulls.cancel(worker);
    const flights = deliveries
      ? deliveries.map(({ id, token }) => this.flights.held(id, { worker, token })).filter((f): f is Flight => f !== undefined)
      : this.flights.ofWorker(worker);
    const now = this.clock();
    const ids = flights.map((flight) => this.handBack(flight, now));
    this.servePullers();
    return ids;
  }

  /** Ends a flight and queues its task again with nothing counted. */
  private handBack(flight: Flight, now: number): string {
    this.flights.remove(flight);
    const entry = this.entry(flight.id);
    // A task that never started is as it was when pulled; a started one waits again as QUEUED.
    if (flight.started) this.tasks.save(entry, { ...entry.task, status: QUEUED, worker: null, time_started: null });
    this.waiting.enqueue(entry, 0, now);
    this.emit('task_queued', flight.id);
    return flight.id;
  }

  async recover(request: RecoverRequest): Promise<RecoverResult> {
    checkRecover(request);
    const result: RecoverResult = { requeued: [], failed: [], returned: [] };
    const now = this.clock();
    if (request.worker !== undefined) this.pulls.cancel(request.worker);
    const lost = request.worker !== undefined ? this.flights.ofWorker(request.worker) : this.flights.expired(now);
    for (const flight of lost) {
      if (!flight.started) {
        result.returned.push(this.handBack(flight, now));
        continue;
      }
      this.flights.remove(flight);
      const entry = this.entry(flight.id);
      const task = entry.task;
      if (task.redeliveries < request.maxRedeliveries) {
        this.tasks.save(entry, { ...task, status: QUEUED, redeliveries: task.redeliveries + 1, worker: null, time_started: null });
        this.waiting.enqueue(entry, 0, now);
        this.emit('task_queued', task.id);
        result.requeued.push(task.id);
      } else {
        this.complete(entry, { ...task, status: FAILURE, result: workerLostMessage(task.redeliveries), time_ended: now / 1000 }, now);
        result.failed.push(task.id);
      }
    }
    this.servePullers();
    return result;
  }

  async get(ids: string[]): Promise<(WireTask | null)[]> {
    return ids.map((id) => {
      const entry = this.tasks.get(id);
      return entry ? this.copy(entry.task) : null;
    });
  }

  async list(filter: StoreFilter, page: PageRequest): Promise<TaskPage> {
    const found = this.tasks.page(filter, page);
    return { tasks: found.tasks.map(this.copy), cursor: found.cursor };
  }

  async numQueued(): Promise<number> {
    return this.waiting.size;
  }

  async revoke(id: string): Promise<boolean> {
    const entry = this.tasks.get(id);
    if (!entry || !this.waiting.unqueue(entry)) return false;
    const now = this.clock();
    this.complete(entry, { ...entry.task, status: REVOKED, result: 'revoked', time_ended: now / 1000 }, now);
    return true;
  }

  async purge(olderThanMs: number, limit: number, statuses?: TaskStatus[]): Promise<number> {
    const chosen = checkPurge(olderThanMs, limit, statuses);
    return this.ended.purge(this.clock() - olderThanMs, limit, chosen, (id) => {
      const entry = this.tasks.get(id);
      if (!entry || !READY_STATES.has(entry.task.status)) return false;
      this.tasks.delete(entry);
      return true;
    });
  }

  async flush(): Promise<void> {
    this.tasks.clear();
    this.waiting.clear();
    this.flights.clear();
    this.locks.clear();
    this.keys.clear();
    this.ended.clear();
    this.lastRunTimes.clear();
  }

  async publish(event: TaskEvent, taskId: string): Promise<void> {
    this.emit(event, taskId);
  }

  private emit(event: TaskEvent, taskId: string): void {
    this.subscribers.emit(event, taskId);
  }

  /**
   * Listens to the store's events; `events` given, to those only (a live set: its owner may change
   * it, and the next event emitted sees the change).
   */
  async subscribe(listener: EventListener, events: ReadonlySet<TaskEvent> | null = null): Promise<() => Promise<void>> {
    return this.subscribers.add(listener, events);
  }

  async progress(taskId: string, value: Json, fence?: Fence): Promise<boolean> {
    const entry = this.tasks.get(taskId);
    if (!entry || (fence !== undefined && !this.flights.held(taskId, fence))) return false;
    // Replaced, not changed in place: a caller sharing the stored object may still be reading it.
    const task = entry.task;
    this.tasks.save(entry, { ...task, meta: { ...task.meta, progress: this.copy(value) } });
    this.emit('task_progress', taskId);
    return true;
  }

  async claimRun(name: string, previousMs: number | null, ranAtMs: number, task: WireTask): Promise<string | null | false> {
    checkClaim(name, previousMs, ranAtMs);
    if ((this.lastRunTimes.get(name) ?? null) !== previousMs) return false;
    this.lastRunTimes.set(name, ranAtMs);
    const now = this.clock();
    const id = this.queueOne(task, now, null, DEFAULT_IDEMPOTENCY_WINDOW_MS);
    this.servePullers();
    return id;
  }

  async lastRuns(): Promise<Record<string, number>> {
    return Object.fromEntries(this.lastRunTimes);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pulls.cancel();
    this.waiting.close();
    this.subscribers.clear();
  }
}
