/**
 * The metrics of this process: one PulsarMetrics, the TaskQueues whose monitors run here, and
 * whether counting is on. TaskQueues register when their monitor starts; nothing is counted (no
 * event read, no task fetched) until something that reports metrics (RpcServer's `/metrics`, the
 * dashboard) enables it.
 */
import { onHealth } from '../infra/health-events.js';
import { getLogger } from '../infra/logger.js';
import { PulsarMetrics } from './definitions.js';
import { QueueMetrics, type MonitoredQueue } from './queue-metrics.js';

/** The metrics hub of a process. */
export class MetricsHub {
  readonly metrics = new PulsarMetrics();
  private readonly queues = new Map<string, { collector: QueueMetrics; started: Promise<void> | null }>();
  /** Workers started per TaskQueue since its monitor started (a worker may start before it registers). */
  private readonly workerStarts = new Map<string, number>();
  private enabled = 0;
  private kept = false;
  private outageSince: number | null = null;
  private readonly stopHealth: (() => void)[] = [];
  private readonly log = getLogger('pulsar.metrics');

  /** Registers a TaskQueue's monitor; counting starts at once if enabled. */
  track(view: MonitoredQueue): void {
    this.forget(view.name);
    const entry = { collector: new QueueMetrics(view, this.metrics), started: null as Promise<void> | null };
    this.queues.set(view.name, entry);
    this.metrics.addSource(entry.collector);
    if (this.enabled) entry.started = this.startCollector(entry.collector);
  }

  /** Forgets a TaskQueue (its monitor stopped). */
  untrack(name: string): void {
    this.workerStarts.delete(name);
    this.forget(name);
  }

  private forget(name: string): void {
    const entry = this.queues.get(name);
    if (!entry) return;
    entry.collector.stop();
    this.queues.delete(name);
    this.metrics.removeSource(name);
  }

  /** A worker of `name` started; each start past the first `initialWorkers` replaces a worker. */
  workerStarted(name: string, initialWorkers: number): void {
    const starts = (this.workerStarts.get(name) ?? 0) + 1;
    this.workerStarts.set(name, starts);
    if (starts > initialWorkers) this.metrics.workerRestarts.inc({ queue: name });
  }

  /** The collector of a TaskQueue, if its monitor runs here. */
  queue(name: string): QueueMetrics | undefined {
    return this.queues.get(name)?.collector;
  }

  /** Turns counting on (reference counted); resolves once every queue listens. */
  async enable(): Promise<void> {
    if (this.enabled++ === 0) {
      for (const entry of this.queues.values()) entry.started ??= this.startCollector(entry.collector);
      this.stopHealth.push(
        onHealth('redis_error', () => this.metrics.redisErrors.inc()),
        onHealth('redis_down', () => (this.outageSince ??= Date.now())),
        onHealth('redis_up', () => this.endOutage()),
      );
    }
    await Promise.all([...this.queues.values()].map((e) => e.started));
  }

  /** Turns counting on for good, once (the dashboard's `queue_stats`); resolves once every queue listens. */
  async keepEnabled(): Promise<void> {
    if (!this.kept) {
      this.kept = true;
      await this.enable();
    } else {
      await Promise.all([...this.queues.values()].map((e) => e.started));
    }
  }

  /** Undoes one `enable()`; the last one stops counting. */
  disable(): void {
    if (this.enabled === 0 || --this.enabled > 0) return;
    for (const entry of this.queues.values()) {
      entry.collector.stop();
      entry.started = null;
    }
    for (const stop of this.stopHealth.splice(0)) stop();
    this.endOutage();
  }

  /** The Prometheus text of every metric (an outage still going on counts up to now). */
  async text(): Promise<string> {
    await Promise.all([...this.queues.values()].map((e) => e.collector.settled()));
    if (this.outageSince !== null) {
      const now = Date.now();
      this.metrics.redisOutageSeconds.inc((now - this.outageSince) / 1000);
      this.outageSince = now;
    }
    return this.metrics.text();
  }

  private startCollector(collector: QueueMetrics): Promise<void> {
    return collector.start().catch((err: unknown) => this.log.error(`metrics of ${collector.name} cannot listen to its events: ${String(err)}`));
  }

  private endOutage(): void {
    if (this.outageSince === null) return;
    this.metrics.redisOutageSeconds.inc((Date.now() - this.outageSince) / 1000);
    this.outageSince = null;
  }
}

let hub: MetricsHub | null = null;

/** The hub of this process. */
export function metricsHub(): MetricsHub {
  hub ??= new MetricsHub();
  return hub;
}
