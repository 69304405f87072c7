/**
 * MemoryStore: the TaskStore of local://, kept in one process. In an arbiter it lives inside the
 * LocalStore actor, whose mailbox makes each call atomic; workers reach it by messages.
 *
 * One clock: the store's (`clock`, Date.now of the arbiter unless injected). Every structure costs
 * O(log N) per change at most: ready tasks by priority (a FIFO per priority for tasks in queueing
 * order, a heap for those queued again), delayed ones in a heap by due time, leases in a heap by deadline and per worker, listings in sorted indexes. Revoking leaves a
 * stale ticket the queues drop when they meet it.
 */
import type { Json } from '../../model/json.js';
import { FAILURE, QUEUED, READY_STATES, REVOKED, type TaskStatus } from '../../model/states.js';
import type { WireTask } from '../../model/task.js';
import {
  DEFAULT_IDEMPOTENCY_WINDOW_MS,
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
import type { Flight } from './memory-flights.js';
import { LATER, MemoryCore } from './memory-core.js';
import { checkClaim, checkLease, checkPurge, checkRecover } from './memory-checks.js';

export type { MemoryStoreOptions } from './memory-options.js';

export { LATER } from './memory-core.js';

/** In-memory tasks, ready queues by priority, delayed tasks, leases, locks, subscribers (memory-core.ts), behind the TaskStore API. */
export class MemoryStore extends MemoryCore implements TaskStore {
  async now(): Promise<number> {
    return this.clock();
  }

  async queue(tasks: WireTask[], options: QueueRequestOptions = {}): Promise<(string | null)[]> {
    return this.queueNow(tasks, options);
  }

  async pull(request: PullRequest): Promise<Delivery[]> {
    const deliveries = this.pullNow(request);
    return deliveries === LATER ? this.pulls.park(request) : deliveries;
  }

  async interrupt(worker: string): Promise<void> {
    this.pulls.cancel(worker);
  }

  async start(task: WireTask, fence: Fence): Promise<boolean> {
    return this.startNow(task, fence);
  }

  async finish(task: WireTask, fence: Fence): Promise<boolean> {
    return this.finishNow(task, fence);
  }

  async retry(task: WireTask, fence: Fence): Promise<boolean> {
    return this.retryNow(task, fence);
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
    const entry = flight.entry;
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
      const entry = flight.entry;
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
      if (!entry || !READY_STATES.has(entry.status)) return false;
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
