/**
 * Combines one contender's passes into the report the tables show: throughput rounds and latency
 * samples are pooled (median rounds, percentiles over every sample); CPU and memory figures are
 * the median across passes; Redis counts come from the pass least disturbed by other clients.
 */
import type { ContenderReport, CpuReport, DriverResult, MemoryReport } from './protocol.js';
import { median, round, summarizeLatency } from './stats.js';

/** One report from every pass of a contender (at least one). */
export function mergePasses(passes: readonly DriverResult[]): ContenderReport {
  const first = passes[0];
  if (!first) throw new Error('mergePasses needs at least one pass');
  const reports = passes.map((p) => p.report);
  const rounds = reports.flatMap((r) => r.throughput.rounds);
  const quietest = reports
    .filter((r) => r.redis)
    .sort((a, b) => (a.redis?.commandstats.commandsPerTask ?? 0) - (b.redis?.commandstats.commandsPerTask ?? 0))[0];
  return {
    contender: first.report.contender,
    setup: first.report.setup,
    throughput: { rounds, medianTasksPerSec: Math.round(median(rounds.map((r) => r.tasksPerSec))) },
    latency: summarizeLatency(passes.flatMap((p) => p.latencySamplesMs)),
    steadyLatency: summarizeLatency(passes.flatMap((p) => p.steadyLatencySamplesMs)),
    memory: mergeMemory(reports.map((r) => r.memory)),
    cpu: mergeCpu(reports.map((r) => r.cpu)),
    redis: quietest?.redis ?? null,
  };
}

function mergeMemory(all: readonly MemoryReport[]): MemoryReport {
  const m = (pick: (x: MemoryReport) => number) => round(median(all.map(pick)), 1);
  const workers = Math.max(...all.map((x) => x.workerRssMb.length));
  return {
    producerRssStartMb: m((x) => x.producerRssStartMb),
    producerRssMb: m((x) => x.producerRssMb),
    producerHeapUsedMb: m((x) => x.producerHeapUsedMb),
    producerHeapAfterGcMb: m((x) => x.producerHeapAfterGcMb),
    producerHeapBeforeGcMb: m((x) => x.producerHeapBeforeGcMb),
    producerRetainedBytesPerTask: Math.round(median(all.map((x) => x.producerRetainedBytesPerTask))),
    producerHeapWithoutStoredMb: medianOrNull(all.map((x) => x.producerHeapWithoutStoredMb), 1),
    producerBytesPerTaskWithoutStored: medianOrNull(all.map((x) => x.producerBytesPerTaskWithoutStored), 0),
    workerRssMb: Array.from({ length: workers }, (_, i) => medianOrNull(all.map((x) => x.workerRssMb[i]), 1)),
    redisUsedMemoryDeltaMb: medianOrNull(all.map((x) => x.redisUsedMemoryDeltaMb), 1),
    redisBytesPerTask: medianOrNull(all.map((x) => x.redisBytesPerTask), 0),
  };
}

/** The median of the known values to `digits` decimals; null when no pass knew it. */
function medianOrNull(values: readonly (number | null | undefined)[], digits: number): number | null {
  const known = values.filter((x): x is number => x !== null && x !== undefined);
  return known.length ? round(median(known), digits) : null;
}

function mergeCpu(all: readonly CpuReport[]): CpuReport {
  const m = (values: (number | null)[]) => {
    const known = values.filter((x): x is number => x !== null);
    return known.length === values.length ? Math.round(median(known)) : null;
  };
  const producer = Math.round(median(all.map((c) => c.producer)));
  const workers = m(all.map((c) => c.workers));
  const redis = m(all.map((c) => c.redis));
  return { producer, workers, redis, total: producer + (workers ?? 0) + (redis ?? 0) };
}
