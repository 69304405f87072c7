/**
 * The driver's end of the orchestrator's IPC channel: waits for the one `run` request, hands it
 * to the driver's measuring function, sends back the report (or the failure) and exits.
 */
import {
  isDriverRequest,
  type ContenderId,
  type DriverReply,
  type DriverRequest,
  type DriverResult,
  type RedisUsage,
  type BenchSettings,
  type ThroughputResult,
  type ThroughputRound,
} from './protocol.js';
import { median, summarizeLatency } from './stats.js';
import type { CompletionCounter } from './completion.js';
import { throughputRound } from './measure.js';
import { monitoredRound } from './redis-monitor.js';
import { openWindow, type WindowResult } from './window.js';
import type { Redis } from 'ioredis';

/**
 * Runs `measure` for the orchestrator's request, then exits this process. `measure` returns a
 * full report, or the throughput rounds alone when the request's scope is `throughput`.
 */
export function serveDriver(measure: (request: DriverRequest) => Promise<DriverResult | ThroughputResult>): void {
  if (!process.send) {
    console.error('A driver runs under bench/run.ts (it is forked with an IPC channel).');
    process.exit(2);
  }
  process.once('message', (message: unknown) => {
    if (!isDriverRequest(message)) return reply({ type: 'failed', error: 'unexpected message from the orchestrator' });
    measure(message).then(
      (result) => reply('report' in result ? { type: 'report', ...result } : { type: 'throughput', ...result }),
      (err: unknown) => reply({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
}

function reply(message: DriverReply): void {
  process.send?.(message, () => {
    process.disconnect?.();
    // Clients that linger (timers, sockets) must not keep a finished driver alive.
    setTimeout(() => process.exit(message.type === 'failed' ? 1 : 0), 100).unref();
  });
}

/** A driver's result from what every driver measures the same way. */
export function contenderResult(
  contender: ContenderId,
  setup: string,
  rounds: ThroughputRound[],
  latency: { cold: number[]; steady: number[] },
  measured: WindowResult,
  monitored: RedisUsage | null,
): DriverResult {
  return {
    report: {
      contender,
      setup,
      throughput: { rounds, medianTasksPerSec: median(rounds.map((r) => r.tasksPerSec)) },
      latency: summarizeLatency(latency.cold),
      steadyLatency: summarizeLatency(latency.steady),
      memory: measured.memory,
      cpu: measured.cpu,
      redis: measured.commandstats && monitored ? { commandstats: measured.commandstats, monitor: monitored } : null,
    },
    latencySamplesMs: latency.cold,
    steadyLatencySamplesMs: latency.steady,
  };
}

/** A driver's result for scope `throughput`: its timed rounds and their median. */
export function throughputResult(contender: ContenderId, settings: BenchSettings, rounds: ThroughputRound[]): ThroughputResult {
  return {
    contender,
    workers: settings.workers,
    concurrency: settings.concurrency,
    rounds,
    medianTasksPerSec: median(rounds.map((r) => r.tasksPerSec)),
  };
}

/** What every driver's throughput phase needs. */
export interface ThroughputPhase {
  settings: BenchSettings;
  namespace: string;
  /** Redis counters connection; null for local://. */
  stats: Redis | null;
  workerPids: readonly number[];
  producerRssStartMb: number;
  queueBulk: (n: number) => Promise<void>;
  counter: CompletionCounter;
  /** For a store in the producer's process (local://): drops the ended tasks it keeps (window.ts). */
  dropStored?: () => Promise<void>;
}

/**
 * The throughput phase, the same for every contender: an untimed warm-up round, the timed rounds
 * inside a CPU/memory/commands window, then one more round watched with MONITOR (Redis only).
 */
export async function throughputPhase(p: ThroughputPhase): Promise<{ rounds: ThroughputRound[]; measured: WindowResult; monitored: RedisUsage | null }> {
  const { settings } = p;
  const round = roundOf(p);
  await round(settings.warmupTasks);
  const window = await openWindow({
    stats: p.stats,
    redisPid: p.stats ? settings.redisPid : null,
    workerPids: p.workerPids,
    producerRssStartMb: p.producerRssStartMb,
    dropStored: p.dropStored,
  });
  const rounds: ThroughputRound[] = [];
  for (let r = 0; r < settings.rounds; r++) rounds.push(await round(settings.tasks));
  const measured = await window.close(settings.tasks * settings.rounds);
  const monitored = p.stats ? await monitoredRound(p.stats, p.namespace, settings.tasks, () => round(settings.tasks)) : null;
  return { rounds, measured, monitored };
}

/**
 * Scope `throughput` (a point of the scaling run): the untimed warm-up round, then the timed
 * rounds alone, with no CPU/memory window and no MONITOR round.
 */
export async function timedRounds(p: ThroughputPhase): Promise<ThroughputRound[]> {
  const round = roundOf(p);
  await round(p.settings.warmupTasks);
  const rounds: ThroughputRound[] = [];
  for (let r = 0; r < p.settings.rounds; r++) rounds.push(await round(p.settings.tasks));
  return rounds;
}

function roundOf({ settings, queueBulk, counter }: ThroughputPhase): (tasks: number) => Promise<ThroughputRound> {
  return (tasks) => throughputRound(tasks, queueBulk, counter, settings.deadlineMs);
}
