/**
 * The core of a MemoryStore: its state and the transitions on the hot path of every task (queue,
 * pull, start, finish, retry), made synchronously. MemoryStore (memory.ts) wraps them in the
 * TaskStore API; the LocalStore actor answers a batch of these calls at once with `callNow`, with
 * no promise per call.
 */
import { READY_STATES, REVOKED } from '../../model/states.js';
import type { WireTask } from '../../model/task.js';
import { EXPIRED_MESSAGE, type Delivery, type Fence, type PullRequest, type QueueRequestOptions, type TaskEvent } from '../../store/contract.js';
import { Flights } from './memory-flights.js';
import { ParkedPulls, Subscribers } from './memory-queues.js';
import { checkFinished, checkPull, checkQueueOptions } from './memory-checks.js';
import { EndedLog, IdempotencyKeys } from './memory-records.js';
import { WaitingTasks } from './memory-waiting.js';
import { StoredTasks, type Entry } from './stored-tasks.js';
import { copierOf, type MemoryStoreOptions } from './memory-options.js';

/** What `callNow` answers for a call it does not answer at once. */
export const LATER: unique symbol = Symbol('answered later');

/** A MemoryStore's state and its synchronous hot-path transitions. */
export abstract class MemoryCore {
  protected readonly tasks = new StoredTasks();
  /** What `numQueued` counts and `pull` may take. */
  protected readonly waiting: WaitingTasks;
  protected readonly flights = new Flights();
  protected readonly locks = new Map<string, string>();
  protected readonly keys = new IdempotencyKeys();
  protected readonly ended = new EndedLog();
  protected readonly lastRunTimes = new Map<string, number>();
  protected readonly pulls = new ParkedPulls<PullRequest, Delivery>();
  protected readonly subscribers = new Subscribers<TaskEvent, string>();
  protected closed = false;
  protected serveScheduled = false;

  /** Copies a task crossing the store's boundary, unless callers hand tasks over (shareObjects). */
  protected readonly copy: <T>(value: T) => T;
  protected readonly clock: () => number;

  constructor(
    readonly name: string,
    options: MemoryStoreOptions = {},
  ) {
    this.copy = copierOf(options);
    this.clock = options.clock ?? Date.now;
    this.waiting = new WaitingTasks(this.clock, () => this.servePullers());
  }

  /**
   * The answer of a call the store makes at once, without a promise (the LocalStore actor answers
   * a batch of calls this way: no promise and reaction per call); LATER for a call it does not
   * answer at once (other methods, a pull that waits): call the method then. Throws as the call
   * would reject.
   */
  callNow(method: string, args: unknown[]): unknown {
    switch (method) {
      case 'start':
        return this.startNow(args[0] as WireTask, args[1] as Fence);
      case 'finish':
        return this.finishNow(args[0] as WireTask, args[1] as Fence);
      case 'retry':
        return this.retryNow(args[0] as WireTask, args[1] as Fence);
      case 'queue':
        return this.queueNow(args[0] as WireTask[], args[1] as QueueRequestOptions | undefined);
      case 'pull':
        return this.pullNow(args[0] as PullRequest);
      default:
        return LATER;
    }
  }

  protected queueNow(tasks: WireTask[], options: QueueRequestOptions = {}): (string | null)[] {
    const { keys, windowMs } = checkQueueOptions(tasks.length, options);
    const now = this.clock();
    this.keys.expire(now);
    const ids = tasks.map((task, i) => this.queueOne(task, now, keys?.[i] ?? null, windowMs));
    this.servePullers();
    return ids;
  }

  /** Queues one task at store time `now`: its id, the id its key remembers, or null when locked. */
  protected queueOne(task: WireTask, now: number, key: string | null, windowMs: number): string | null {
    if (key !== null) {
      const first = this.keys.get(key, now);
      if (first !== undefined) return first;
    }
    // The same task sent again (a resent call): it is queued already.
    if (this.tasks.has(task.id)) return task.id;
    if (task.lock_id) {
      const holder = this.locks.get(task.lock_id);
      const held = holder !== undefined ? this.tasks.get(holder) : undefined;
      if (held && !READY_STATES.has(held.status)) return null;
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
  protected take(max: number, worker: string, leaseMs: number): Delivery[] {
    const now = this.clock();
    const entries = this.waiting.take(max, now, (entry) => {
      const task = entry.task;
      if (task.expiry === null || task.expiry * 1000 > now) return true;
      this.complete(entry, { ...task, status: REVOKED, result: EXPIRED_MESSAGE, time_ended: now / 1000 }, now);
      return false;
    });
    return entries.map((entry) => {
      const token = ++entry.token;
      this.flights.add(entry, worker, token, now + leaseMs);
      return { task: this.copy(entry.task), token };
    });
  }

  /** The deliveries of a pull, or LATER when it waits for work. */
  protected pullNow(request: PullRequest): Delivery[] | typeof LATER {
    checkPull(request);
    const deliveries = this.closed ? [] : this.take(request.max, request.worker, request.leaseMs);
    if (deliveries.length || request.waitMs <= 0 || this.closed) return deliveries;
    return LATER;
  }

  protected servePullers(): void {
    if (this.waiting.size) this.pulls.serve((r) => this.take(r.max, r.worker, r.leaseMs));
  }

  protected startNow(task: WireTask, fence: Fence): boolean {
    const flight = this.flights.held(task.id, fence);
    if (!flight) return false;
    this.tasks.save(flight.entry, this.copy(task));
    // The same start sent again (its answer lost) saves it again; its broadcast went the first time.
    if (!flight.started) this.emit('task_started', task.id);
    flight.started = true;
    return true;
  }

  protected finishNow(task: WireTask, fence: Fence): boolean {
    checkFinished(task);
    const flight = this.flights.held(task.id, fence);
    if (!flight) return false;
    this.flights.remove(flight);
    this.complete(flight.entry, this.copy(task), this.clock());
    return true;
  }

  /** Saves a ready task, releases its lock, tells waiters. */
  protected complete(entry: Entry, task: WireTask, now: number): void {
    this.tasks.save(entry, task);
    this.ended.record(task.id, task.status, now);
    if (task.lock_id && this.locks.get(task.lock_id) === task.id) this.locks.delete(task.lock_id);
    this.emit('task_done', task.id);
  }

  protected retryNow(task: WireTask, fence: Fence): boolean {
    const flight = this.flights.held(task.id, fence);
    if (!flight) return this.tasks.get(task.id)?.retried === `${fence.worker}:${fence.token}`;
    this.flights.remove(flight);
    const now = this.clock();
    const at = now + Math.max(0, task.retry_delay) * 1000;
    const entry = flight.entry;
    entry.retried = `${fence.worker}:${fence.token}`;
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
  protected serveSoon(): void {
    if (this.serveScheduled) return;
    this.serveScheduled = true;
    setImmediate(() => {
      this.serveScheduled = false;
      if (!this.closed) this.servePullers();
    });
  }

  protected emit(event: TaskEvent, taskId: string): void {
    this.subscribers.emit(event, taskId);
  }
}
