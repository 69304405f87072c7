/**
 * MemoryStore: the TaskStore of local://, kept in one process. In an arbiter it lives inside the
 * LocalStore actor, whose mailbox makes each call atomic; workers reach it by messages.
 */
import { timerDelay } from '../../infra/timers.js';
import type { Json } from '../../model/json.js';
import { FAILURE, QUEUED, READY_STATES, RETRY, REVOKED } from '../../model/states.js';
import {
  workerLostMessage,
  type EventListener,
  type PullRequest,
  type RecoverRequest,
  type RecoverResult,
  type StoreFilter,
  type TaskEvent,
  type TaskStore,
} from '../../store/contract.js';
import type { WireTask } from '../../model/task.js';
import { DelayedIds, Fifo, ParkedPulls, PriorityQueues } from './memory-queues.js';

interface Lease {
  worker: string;
  deadline: number;
}

const copy = <T>(value: T): T => structuredClone(value);
const same = <T>(value: T): T => value;

/** Settings of a MemoryStore. */
export interface MemoryStoreOptions {
  /**
   * Skip the store's own copies of the tasks it is given and gives out. Only for callers that hand
   * over what they pass (never touching it again) and only read what they get: in the bench the copies
   * were a quarter of the arbiter's CPU per task. The LocalStore actor's callers qualify: a worker child's calls
   * arrive freshly deserialized and their replies are serialized, and its in-process client
   * copies on both sides. A store that never mutates a stored task in place makes reading safe.
   */
  shareObjects?: boolean;
}

/** In-memory tasks, ready queues by priority, delayed tasks, leases, locks, subscribers. */
export class MemoryStore implements TaskStore {
  private tasks = new Map<string, WireTask>();
  /** Ready ids, highest priority first, then oldest. */
  private readonly ready = new PriorityQueues();
  /** Waiting ids (ready or delayed): what `numQueued` counts and `pull` may take. */
  private waiting = new Set<string>();
  /** Delayed ids sorted by eta (ms). */
  private readonly delayed = new DelayedIds();
  private delayTimer: NodeJS.Timeout | null = null;
  private leases = new Map<string, Lease>();
  private locks = new Map<string, string>();
  private lastRunTimes = new Map<string, number>();
  private readonly pulls = new ParkedPulls<PullRequest, WireTask>();
  private listeners = new Set<EventListener>();
  private closed = false;

  /** Ready tasks in the order they ended (roughly by end time): what `purge` walks. */
  private readonly ended = new Fifo<{ id: string; at: number }>();

  /** Copies a task crossing the store's boundary, unless callers hand tasks over (shareObjects). */
  private readonly copy: <T>(value: T) => T;

  constructor(
    readonly name: string,
    options: MemoryStoreOptions = {},
  ) {
    this.copy = options.shareObjects ? same : copy;
  }

  async queue(tasks: WireTask[]): Promise<(string | null)[]> {
    const ids = tasks.map((task) => {
      if (task.lock_id) {
        const holder = this.locks.get(task.lock_id);
        const held = holder !== undefined ? this.tasks.get(holder) : undefined;
        if (held && !READY_STATES.has(held.status)) return null;
        this.locks.set(task.lock_id, task.id);
      }
      this.tasks.set(task.id, this.copy(task));
      this.enqueue(task);
      this.emit('task_queued', task.id);
      return task.id;
    });
    this.servePullers();
    return ids;
  }

  private enqueue(task: WireTask): void {
    this.waiting.add(task.id);
    const at = task.eta !== null ? task.eta * 1000 : 0;
    if (at > Date.now()) {
      this.delayed.add(task.id, at);
      this.armDelayTimer();
      return;
    }
    this.ready.push(task.id, task.priority);
  }

  private armDelayTimer(): void {
    if (this.delayTimer) clearTimeout(this.delayTimer);
    this.delayTimer = null;
    const first = this.delayed.firstAt();
    if (first === undefined || this.closed) return;
    this.delayTimer = setTimeout(() => {
      this.delayTimer = null;
      this.promoteDelayed();
      this.servePullers();
      this.armDelayTimer();
    }, timerDelay(first - Date.now()));
    this.delayTimer.unref();
  }

  private promoteDelayed(): void {
    for (const id of this.delayed.popDue(Date.now())) {
      const task = this.tasks.get(id);
      if (task && this.waiting.has(id)) {
        this.waiting.delete(id);
        this.enqueue({ ...task, eta: null });
      }
    }
  }

  private take(max: number, worker: string, leaseMs: number): WireTask[] {
    this.promoteDelayed();
    const deadline = Date.now() + leaseMs;
    // Revoked or flushed ids stay in the queues; they are dropped here.
    const ids = this.ready.take(max, (id) => {
      const task = this.tasks.get(id);
      return task !== undefined && this.waiting.has(id) && (task.status === QUEUED || task.status === RETRY);
    });
    return ids.map((id) => {
      this.waiting.delete(id);
      this.leases.set(id, { worker, deadline });
      return this.copy(this.tasks.get(id) as WireTask);
    });
  }

  async pull(request: PullRequest): Promise<WireTask[]> {
    const tasks = this.closed ? [] : this.take(request.max, request.worker, request.leaseMs);
    if (tasks.length || request.waitMs <= 0 || this.closed) return tasks;
    return this.pulls.park(request);
  }

  private servePullers(): void {
    if (this.waiting.size) this.pulls.serve((r) => this.take(r.max, r.worker, r.leaseMs));
  }

  async interrupt(worker: string): Promise<void> {
    this.cancelPulls(worker);
  }

  /** A dead worker's parked pulls must not take the tasks handed back for it. */
  private cancelPulls(worker: string): void {
    this.pulls.cancel(worker);
  }

  private owns(id: string, worker: string): boolean {
    return this.leases.get(id)?.worker === worker;
  }

  async start(task: WireTask, worker: string): Promise<boolean> {
    if (!this.owns(task.id, worker)) return false;
    this.tasks.set(task.id, this.copy(task));
    this.emit('task_started', task.id);
    return true;
  }

  async finish(task: WireTask, worker: string): Promise<boolean> {
    if (!this.owns(task.id, worker)) return false;
    this.leases.delete(task.id);
    this.complete(this.copy(task));
    return true;
  }

  /** Saves a ready task, releases its lock, tells waiters. */
  private complete(task: WireTask): void {
    this.tasks.set(task.id, task);
    this.ended.push({ id: task.id, at: (task.time_ended ?? Date.now() / 1000) * 1000 });
    if (task.lock_id && this.locks.get(task.lock_id) === task.id) this.locks.delete(task.lock_id);
    this.emit('task_done', task.id);
  }

  async retry(task: WireTask, worker: string): Promise<boolean> {
    if (!this.owns(task.id, worker)) return false;
    this.leases.delete(task.id);
    this.tasks.set(task.id, this.copy(task));
    this.enqueue(task);
    this.emit('task_queued', task.id);
    this.servePullers();
    return true;
  }

  async renew(worker: string, ids: string[], leaseMs: number): Promise<void> {
    const deadline = Date.now() + leaseMs;
    for (const id of ids) {
      const lease = this.leases.get(id);
      if (lease?.worker === worker) lease.deadline = deadline;
    }
  }

  async recover(request: RecoverRequest): Promise<RecoverResult> {
    const result: RecoverResult = { requeued: [], failed: [] };
    if (request.worker) this.cancelPulls(request.worker);
    for (const [id, lease] of [...this.leases]) {
      if (request.worker ? lease.worker !== request.worker : lease.deadline >= request.nowMs) continue;
      this.leases.delete(id);
      const task = this.tasks.get(id);
      if (!task || READY_STATES.has(task.status)) continue;
      if (task.redeliveries < request.maxRedeliveries) {
        const again: WireTask = {
          ...task,
          status: QUEUED,
          retries: task.retries + 1,
          redeliveries: task.redeliveries + 1,
          worker: null,
          time_started: null,
          eta: null,
        };
        this.tasks.set(id, again);
        this.enqueue(again);
        this.emit('task_queued', id);
        result.requeued.push(id);
      } else {
        this.complete({
          ...task,
          status: FAILURE,
          result: workerLostMessage(task.redeliveries),
          time_ended: request.nowMs / 1000,
        });
        result.failed.push(id);
      }
    }
    this.servePullers();
    return result;
  }

  async get(ids: string[]): Promise<(WireTask | null)[]> {
    return ids.map((id) => {
      const task = this.tasks.get(id);
      return task ? this.copy(task) : null;
    });
  }

  async list(filter: StoreFilter): Promise<WireTask[]> {
    const source = filter.ids ? filter.ids.map((id) => this.tasks.get(id)) : [...this.tasks.values()];
    const status = filter.status ? new Set<number>(filter.status) : null;
    return source
      .filter((t): t is WireTask => t !== undefined)
      .filter((t) => (filter.name === undefined || t.name === filter.name) && (!status || status.has(t.status)))
      .filter((t) => filter.from_task === undefined || t.from_task === filter.from_task)
      .map(this.copy);
  }

  async numQueued(): Promise<number> {
    return this.waiting.size;
  }

  async revoke(id: string, nowMs: number): Promise<boolean> {
    const task = this.tasks.get(id);
    if (!task || !this.waiting.has(id)) return false;
    this.waiting.delete(id);
    this.delayed.remove(id);
    this.complete({ ...task, status: REVOKED, result: 'revoked', time_ended: nowMs / 1000 });
    return true;
  }

  async purge(beforeMs: number, limit: number): Promise<number> {
    let purged = 0;
    for (let entry = this.ended.peek(); purged < limit && entry; entry = this.ended.peek()) {
      // Ends are recorded in arrival order: stop at the first one still inside the retention.
      if (entry.at >= beforeMs) break;
      this.ended.shift();
      const task = this.tasks.get(entry.id);
      if (task && READY_STATES.has(task.status)) {
        this.tasks.delete(entry.id);
        purged += 1;
      }
    }
    return purged;
  }

  async flush(): Promise<void> {
    this.ended.clear();
    this.tasks.clear();
    this.ready.clear();
    this.waiting.clear();
    this.delayed.clear();
    this.armDelayTimer();
    this.leases.clear();
    this.locks.clear();
    this.lastRunTimes.clear();
  }

  async publish(event: TaskEvent, taskId: string): Promise<void> {
    this.emit(event, taskId);
  }

  private emit(event: TaskEvent, taskId: string): void {
    // Listeners run after the store call, never inside it.
    for (const listener of this.listeners) queueMicrotask(() => listener(event, taskId));
  }

  async subscribe(listener: EventListener): Promise<() => Promise<void>> {
    this.listeners.add(listener);
    return async () => {
      this.listeners.delete(listener);
    };
  }

  async progress(taskId: string, value: Json): Promise<void> {
    const task = this.tasks.get(taskId);
    if (!task) return;
    // Replaced, not changed in place: a caller sharing the stored object may still be reading it.
    this.tasks.set(taskId, { ...task, meta: { ...task.meta, progress: this.copy(value) } });
    this.emit('task_progress', taskId);
  }

  async claimRun(name: string, previousMs: number | null, ranAtMs: number): Promise<boolean> {
    if ((this.lastRunTimes.get(name) ?? null) !== previousMs) return false;
    this.lastRunTimes.set(name, ranAtMs);
    return true;
  }

  async lastRuns(): Promise<Record<string, number>> {
    return Object.fromEntries(this.lastRunTimes);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pulls.cancel();
    if (this.delayTimer) clearTimeout(this.delayTimer);
    this.listeners.clear();
  }
}
