/**
 * The Prometheus metrics of pulsar-tasks (prom-client), on a registry of their own. Names and
 * labels are part of the public interface (README "Metrics").
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

/**
 * prom-client, loaded when the first PulsarMetrics is made (a process that reports metrics):
 * importing pulsar-tasks — as every job module does, in every worker — must not cost its ~13 MiB.
 */
let loaded: typeof PromClient | null = null;
function promClient(): typeof PromClient {
  loaded ??= createRequire(import.meta.url)('prom-client') as typeof PromClient;
  return loaded;
}

/** Seconds buckets of the run and wait histograms: 5 ms to 10 min. */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** What the gauges read at scrape time, per TaskQueue. */
export interface QueueGaugeSource {
  readonly name: string;
  /** Tasks waiting for a worker. */
  depth(): Promise<number>;
  /** Tasks running now. */
  inFlight(): number;
  /** Workers alive. */
  workersAlive(): number;
  /** Age in seconds of the oldest task waiting for a worker (0 when none). */
  oldestWaitingSeconds(): number;
}

/** Every metric, registered on `registry`. */
export class PulsarMetrics {
  private readonly pc = promClient();
  readonly registry = new this.pc.Registry();
  private readonly sources = new Map<string, QueueGaugeSource>();

  readonly queued = this.taskCounter('queued', 'Tasks queued (first time only)');
  readonly started = this.taskCounter('started', 'Runs started');
  readonly succeeded = this.taskCounter('succeeded', 'Tasks ended SUCCESS');
  readonly failed = this.taskCounter('failed', 'Tasks ended FAILURE (lost ones included)');
  readonly revoked = this.taskCounter('revoked', 'Tasks ended REVOKED (expired, timed out or cancelled)');
  readonly retried = this.taskCounter('retried', 'Failed runs queued again for another attempt');
  readonly redelivered = this.taskCounter('redelivered', 'Tasks queued again because their worker was lost');
  readonly lost = this.taskCounter('lost', 'Tasks ended FAILURE because their worker was lost too often');

  readonly runSeconds = new this.pc.Histogram({
    name: 'pulsar_task_run_seconds',
    help: 'Run time of tasks that ran to their end (started to ended)',
    labelNames: ['queue', 'job'],
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly waitSeconds = new this.pc.Histogram({
    name: 'pulsar_task_wait_seconds',
    help: 'Time a task waited for a worker (due to started)',
    labelNames: ['queue', 'job'],
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  readonly workerRestarts = new this.pc.Counter({
    name: 'pulsar_worker_restarts_total',
    help: 'Workers started to replace one that exited (crashed, silent, or done with max requests)',
    labelNames: ['queue'],
    registers: [this.registry],
  });
  readonly redisErrors = new this.pc.Counter({
    name: 'pulsar_redis_errors_total',
    help: 'Connection errors of the Redis stores of this process',
    registers: [this.registry],
  });
  readonly redisOutageSeconds = new this.pc.Counter({
    name: 'pulsar_redis_outage_seconds_total',
    help: 'Seconds the Redis stores of this process were disconnected',
    registers: [this.registry],
  });
  readonly rpcRequests = new this.pc.Counter({
    name: 'pulsar_rpc_requests_total',
    help: 'JSON-RPC calls answered, by method and error code (0: success)',
    labelNames: ['method', 'code'],
    registers: [this.registry],
  });

  constructor() {
    const sources = () => [...this.sources.values()];
    new this.pc.Gauge({
      name: 'pulsar_queue_depth',
      help: 'Tasks waiting for a worker',
      labelNames: ['queue'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const s of sources()) this.set({ queue: s.name }, await s.depth().catch(() => NaN));
      },
    });
    this.gauge('pulsar_tasks_in_flight', 'Tasks running now', (s) => s.inFlight());
    this.gauge('pulsar_workers_alive', 'Workers alive', (s) => s.workersAlive());
    this.gauge('pulsar_queue_oldest_waiting_seconds', 'Age of the oldest task waiting for a worker (0: none)', (s) => s.oldestWaitingSeconds());
    this.pc.collectDefaultMetrics({ register: this.registry, prefix: 'pulsar_' });
  }

  /** Adds a TaskQueue's gauges. */
  addSource(source: QueueGaugeSource): void {
    this.sources.set(source.name, source);
  }

  removeSource(name: string): void {
    this.sources.delete(name);
  }

  /** The text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  private taskCounter(what: string, help: string): PromClient.Counter<'queue' | 'job'> {
    return new this.pc.Counter({ name: `pulsar_tasks_${what}_total`, help, labelNames: ['queue', 'job'], registers: [this.registry] });
  }

  private gauge(name: string, help: string, read: (s: QueueGaugeSource) => number): void {
    const sources = () => [...this.sources.values()];
    new this.pc.Gauge({
      name,
      help,
      labelNames: ['queue'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of sources()) this.set({ queue: s.name }, read(s));
      },
    });
  }
}
