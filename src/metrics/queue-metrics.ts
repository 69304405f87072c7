/**
 * The metrics of one TaskQueue, counted from its broadcasts. Every event names a task only, so
 * the events of one turn are read from the store in one call; counts come from what the tasks
 * say (their job, state, retries and redeliveries), so they agree with the store.
 */
import type { TaskBackend } from '../producer/backend.js';
import { getLogger } from '../infra/logger.js';
import { FAILURE, REVOKED, SUCCESS } from '../model/states.js';
import type { WireTask } from '../model/task.js';
import type { TaskEvent } from '../store/contract.js';
import type { PulsarMetrics, QueueGaugeSource } from './definitions.js';
import { ThroughputSeries } from './throughput.js';

/** What metrics see of a TaskQueue's monitor (its MonitorView). */
export interface MonitoredQueue {
  readonly name: string;
  readonly backend: TaskBackend;
  workers(): readonly { running: number }[];
}

/** What is remembered of a task not yet ended. */
interface Seen {
  retries: number;
  redeliveries: number;
  /** When it became due for a worker (epoch ms), while it waits; null while it runs. */
  dueMs: number | null;
}

/** Tasks remembered at most: past it, new tasks are counted but not followed. */
const MAX_FOLLOWED = 1_000_000;
const WATCHED: TaskEvent[] = ['task_queued', 'task_started', 'task_done'];
/** Milliseconds events wait for others before their tasks are read (at most MAX_BATCH events). */
const BATCH_WINDOW_MS = 200;
const MAX_BATCH = 5000;

/** Counts one TaskQueue's tasks into `metrics`, and keeps its throughput series. */
export class QueueMetrics implements QueueGaugeSource {
  readonly series = new ThroughputSeries();
  /** Tasks that ended, by outcome, since the collector started. */
  readonly totals = { queued: 0, started: 0, succeeded: 0, failed: 0, revoked: 0, retried: 0, redelivered: 0, lost: 0 };
  private readonly followed = new Map<string, Seen>();
  private readonly running = new Set<string>();
  private wakeBatch: (() => void) | null = null;
  private pending: [TaskEvent, string][] = [];
  private flushing: Promise<void> | null = null;
  private readonly listeners = new Map<TaskEvent, (id: string) => void>();
  private readonly log;

  constructor(
    private readonly view: MonitoredQueue,
    private readonly metrics: PulsarMetrics,
  ) {
    this.log = getLogger(`pulsar.${view.name}.metrics`);
  }

  get name(): string {
    return this.view.name;
  }

  /** Starts listening to the queue's broadcasts; resolves once subscribed. */
  async start(): Promise<void> {
    for (const event of WATCHED) {
      const listener = (id: string) => this.push(event, id);
      this.listeners.set(event, listener);
      this.view.backend.on(event, listener);
    }
    await this.view.backend.ensureSubscribed();
  }

  /** Stops listening. */
  stop(): void {
    for (const [event, listener] of this.listeners) this.view.backend.off(event, listener);
    this.listeners.clear();
  }

  /** Resolves once the events received so far are counted (a few batches at most). */
  async settled(): Promise<void> {
    // Bounded: under a steady stream of events there is always more coming.
    for (let i = 0; i < 3 && this.flushing; i++) {
      this.wakeBatch?.();
      await this.flushing;
    }
  }

  depth(): Promise<number> {
    return this.view.backend.numTasks();
  }

  /** Tasks started and not ended (from the events: workers' own counts come with their heartbeats only). */
  inFlight(): number {
    return this.running.size;
  }

  workersAlive(): number {
    return this.view.workers().length;
  }

  oldestWaitingSeconds(nowMs: number = Date.now()): number {
    let oldest = Infinity;
    for (const seen of this.followed.values()) if (seen.dueMs !== null && seen.dueMs <= nowMs && seen.dueMs < oldest) oldest = seen.dueMs;
    return Number.isFinite(oldest) ? (nowMs - oldest) / 1000 : 0;
  }

  private push(event: TaskEvent, id: string): void {
    this.pending.push([event, id]);
    this.flushing ??= this.flush();
    if (this.pending.length >= MAX_BATCH) this.wakeBatch?.();
  }

  private async flush(): Promise<void> {
    // Let the events of the next moments join the batch: a task queued, started and done within
    // the window is read once, and one store call reads many tasks.
    await new Promise<void>((resolve) => {
      this.wakeBatch = resolve;
      setTimeout(resolve, BATCH_WINDOW_MS).unref();
    });
    this.wakeBatch = null;
    const batch = this.pending;
    this.pending = [];
    try {
      const ids = [...new Set(batch.map(([, id]) => id))];
      const tasks = await this.view.backend.store.get(ids);
      const byId = new Map(ids.map((id, i) => [id, tasks[i] ?? null]));
      for (const [event, id] of batch) {
        const task = byId.get(id);
        if (task) this.count(event, task);
      }
    } catch (err) {
      this.log.debug(`could not read ${batch.length} task(s) for metrics: ${String(err)}`);
    } finally {
      // What came meanwhile waits for its own window.
      this.flushing = this.pending.length ? this.flush() : null;
    }
  }

  private count(event: TaskEvent, task: WireTask): void {
    const labels = { queue: this.name, job: task.name };
    let seen = this.followed.get(task.id);
    if (event === 'task_queued' && !seen) {
      this.metrics.queued.inc(labels);
      this.totals.queued++;
    }
    if (!seen) {
      seen = { retries: 0, redeliveries: 0, dueMs: null };
      if (event !== 'task_done' && this.followed.size < MAX_FOLLOWED) this.followed.set(task.id, seen);
    }
    // Retries and redeliveries only grow: count what grew since the task was last seen.
    const redelivered = Math.max(0, task.redeliveries - seen.redeliveries);
    const retried = Math.max(0, task.retries - task.redeliveries - (seen.retries - seen.redeliveries));
    if (redelivered) this.metrics.redelivered.inc(labels, redelivered);
    if (retried) this.metrics.retried.inc(labels, retried);
    this.totals.redelivered += redelivered;
    this.totals.retried += retried;
    seen.retries = Math.max(seen.retries, task.retries);
    seen.redeliveries = Math.max(seen.redeliveries, task.redeliveries);
    switch (event) {
      case 'task_queued':
        seen.dueMs = Math.max(task.time_queued, task.eta ?? 0) * 1000;
        this.running.delete(task.id);
        break;
      case 'task_started':
        this.metrics.started.inc(labels);
        this.totals.started++;
        if (task.time_started !== null) {
          const due = seen.dueMs ?? Math.max(task.time_queued, task.eta ?? 0) * 1000;
          this.metrics.waitSeconds.observe(labels, Math.max(0, task.time_started - due / 1000));
        }
        seen.dueMs = null;
        if (this.running.size < MAX_FOLLOWED) this.running.add(task.id);
        break;
      case 'task_done':
        this.ended(task, labels);
        this.followed.delete(task.id);
        this.running.delete(task.id);
        break;
      default:
        break;
    }
  }

  private ended(task: WireTask, labels: { queue: string; job: string }): void {
    if (task.status === SUCCESS) {
      this.metrics.succeeded.inc(labels);
      this.totals.succeeded++;
      this.series.add('succeeded');
    } else if (task.status === FAILURE) {
      this.metrics.failed.inc(labels);
      this.totals.failed++;
      this.series.add('failed');
      if (typeof task.result === 'string' && task.result.startsWith('worker lost')) {
        this.metrics.lost.inc(labels);
        this.totals.lost++;
      }
    } else if (task.status === REVOKED) {
      this.metrics.revoked.inc(labels);
      this.totals.revoked++;
      this.series.add('revoked');
    }
    if (task.time_started !== null && task.time_ended !== null && task.status !== REVOKED) {
      this.metrics.runSeconds.observe(labels, Math.max(0, task.time_ended - task.time_started));
    }
  }
}
