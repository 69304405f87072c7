/**
 * The shapes the benchmark passes around: the settings of one run, what the orchestrator
 * (bench/run.ts) asks a driver process for, and the report each driver sends back. Every figure
 * is measured in the driver's own process, so each contender starts from a fresh heap.
 */

/** The systems measured, side by side. */
export type ContenderId = 'pulsar-local' | 'pulsar-inline' | 'pulsar-redis' | 'bullmq' | 'bee-queue';

/** Where the shared Redis is. */
export interface RedisTarget {
  host: string;
  port: number;
  db: number;
}

/** Settings of one `npm run bench`, the same for every contender. */
export interface BenchSettings {
  /** Unique per run: the first part of every Redis key, queue name and namespace it creates. */
  runId: string;
  /** Tasks queued in bulk per throughput round. */
  tasks: number;
  /** Tasks per round of the one-inline-worker row (pulsar-inline), which is far faster. */
  inlineTasks: number;
  /** Throughput rounds per pass; the median over every pass's rounds is reported. */
  rounds: number;
  /** Times each contender runs, interleaved (A B C, A B C, ...), so a burst of load elsewhere hits all. */
  passes: number;
  /** Tasks queued in bulk (untimed) before the first round, to connect and warm the JIT. */
  warmupTasks: number;
  /** Sequential round trips measured for latency. */
  latencyTasks: number;
  /** Untimed round trips before the latency samples. */
  latencyWarmup: number;
  /**
   * Further untimed round trips after those samples, before as many again: the steady-state
   * latency of a process whose sequential path the JIT has optimized (a long-running service).
   */
  steadyWarmup: number;
  /** Worker processes per contender. */
  workers: number;
  /** Tasks one worker runs at once. */
  concurrency: number;
  /** The Redis every Redis-backed contender shares; null when Redis is unreachable. */
  redis: RedisTarget | null;
  /** redis-server's pid when it runs on this machine (its CPU time is read from /proc). */
  redisPid: number | null;
  /** A round (or the whole latency run) not done by then fails the contender. */
  deadlineMs: number;
}

/**
 * What a driver measures: `full` (the default) the whole comparison (throughput, latency, memory,
 * CPU, Redis commands); `throughput` only the warm-up and the timed rounds, with the request's
 * `workers` × `concurrency` (a point of the scaling run, bench/scaling.ts).
 */
export type DriverScope = 'full' | 'throughput';

/** The orchestrator's one message to a driver. */
export interface DriverRequest {
  type: 'run';
  contender: ContenderId;
  settings: BenchSettings;
  /** This contender's key prefix / namespace / queue prefix in Redis (starts with `runId`). */
  namespace: string;
  /** `full` when absent. */
  scope?: DriverScope;
}

/** One bulk-queue-then-drain round. */
export interface ThroughputRound {
  tasks: number;
  /** Time of the bulk queue call alone. */
  queueMs: number;
  /** From the start of the bulk queue call to the last completion seen by the producer. */
  totalMs: number;
  tasksPerSec: number;
}

/** Queue → result round trips, one task at a time (milliseconds). */
export interface LatencySummary {
  samples: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Resident memory in MiB. */
export interface MemoryReport {
  /** The producer (for pulsar-tasks: the arbiter, which also holds local://'s store) before warm-up. */
  producerRssStartMb: number;
  /** The producer right after the last throughput round. */
  producerRssMb: number;
  producerHeapUsedMb: number;
  /** The producer's heap after a full GC: what it retains (local:// keeps every task here). */
  producerHeapAfterGcMb: number;
  /** The same before the timed rounds (after the warm-up): the difference is what the rounds left. */
  producerHeapBeforeGcMb: number;
  /** What the timed rounds left in the producer's heap, per task they ran (bytes; GC'd both ends). */
  producerRetainedBytesPerTask: number;
  /**
   * local:// (its store lives in the producer): the heap after GC once the store dropped the ended
   * tasks it keeps for resultTtl, and its growth per task over the rounds (what the producer keeps
   * per task besides the stored tasks: flat is 0). Null where the store is elsewhere (Redis).
   */
  producerHeapWithoutStoredMb: number | null;
  producerBytesPerTaskWithoutStored: number | null;
  /** Each worker process right after the last throughput round (null where /proc is not readable). */
  workerRssMb: (number | null)[];
  /** Redis `used_memory` growth over the throughput rounds (null without Redis). */
  redisUsedMemoryDeltaMb: number | null;
  /**
   * That growth per task the rounds ran, in bytes: what Redis keeps per finished task (each
   * contender keeps its finished tasks by default; server-wide, so other clients add noise).
   */
  redisBytesPerTask: number | null;
}

/**
 * One contender's own Redis commands over an extra, untimed round watched with MONITOR (exact even
 * when other clients share the server).
 */
export interface RedisUsage {
  tasks: number;
  /** The contender's connections that sent commands in the round. */
  connections: number;
  /** Commands its clients sent (pipelined ones each count): requests on the wire. */
  clientCommandsPerTask: number;
  /** EVAL/EVALSHA/FCALL among them. */
  scriptCallsPerTask: number;
  /** Commands run inside those scripts. */
  scriptInnerCommandsPerTask: number;
  /** Both: every command Redis executed for the contender. */
  commandsPerTask: number;
  /** Per command, per task, largest first. */
  perTaskByCommand: Record<string, number>;
}

/**
 * `INFO commandstats` deltas over the timed throughput rounds: every command Redis executed,
 * those inside scripts included, from every client of the server (so other users inflate it).
 */
export interface ServerCommandStats {
  tasks: number;
  totalCommands: number;
  commandsPerTask: number;
  scriptCallsPerTask: number;
  perTaskByCommand: Record<string, number>;
}

/** CPU time spent over the throughput rounds, in ms per 1000 tasks (null where unreadable). */
export interface CpuReport {
  producer: number;
  /** All worker processes together. */
  workers: number | null;
  /** redis-server (null for local:// or when Redis is not on this machine). */
  redis: number | null;
  /** The sum of the above. */
  total: number;
}

/** What a driver measured. */
export interface ContenderReport {
  contender: ContenderId;
  /** How the contender was set up, in one sentence. */
  setup: string;
  throughput: { rounds: ThroughputRound[]; medianTasksPerSec: number };
  latency: LatencySummary;
  /** The same after `steadyWarmup` more round trips (see BenchSettings). */
  steadyLatency: LatencySummary;
  memory: MemoryReport;
  cpu: CpuReport;
  /** null for local://. */
  redis: { commandstats: ServerCommandStats; monitor: RedisUsage } | null;
}

/** What a driver returns: its report and the raw latency samples (pooled across passes). */
export interface DriverResult {
  report: ContenderReport;
  latencySamplesMs: number[];
  steadyLatencySamplesMs: number[];
}

/** What a driver returns for scope `throughput`: the timed rounds alone. */
export interface ThroughputResult {
  contender: ContenderId;
  workers: number;
  concurrency: number;
  rounds: ThroughputRound[];
  medianTasksPerSec: number;
}

/** A driver's answer. */
export type DriverReply =
  | ({ type: 'report' } & DriverResult)
  | ({ type: 'throughput' } & ThroughputResult)
  | { type: 'failed'; error: string };

/** True for a DriverRequest (checked at the driver's end of the IPC channel). */
export function isDriverRequest(value: unknown): value is DriverRequest {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'run';
}

/** True for a DriverReply (checked at the orchestrator's end). */
export function isDriverReply(value: unknown): value is DriverReply {
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  return type === 'report' || type === 'throughput' || type === 'failed';
}
