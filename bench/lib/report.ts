/**
 * Turns the contenders' reports into ratios against BullMQ (same run, same Redis) and into the
 * markdown tables `npm run bench` prints.
 */
import type { BenchSettings, ContenderId, ContenderReport, MemoryReport } from './protocol.js';

/** What became of one contender. */
export type Outcome =
  | { contender: ContenderId; status: 'ok'; report: ContenderReport }
  | { contender: ContenderId; status: 'skipped'; reason: string }
  | { contender: ContenderId; status: 'failed'; error: string };

/** One contender ÷ BullMQ. Throughput: higher is better; latency and commands: lower is better. */
export interface Ratio {
  contender: ContenderId;
  throughput: number;
  p50: number;
  p95: number;
  p99: number;
  /** p50 after the steady-state warm-up (BenchSettings.steadyWarmup). */
  steadyP50: number;
  /** null when either side has no Redis command count. */
  commandsPerTask: number | null;
  /** CPU time per task, every process of both sides counted (producer, workers, redis-server). */
  cpuPerTask: number;
  /** Redis memory kept per finished task; null when either side has no Redis reading. */
  redisBytesPerTask: number | null;
}

/** How each contender is named in tables and charts. */
export const LABELS: Record<ContenderId, string> = {
  'pulsar-local': 'pulsar-tasks local://',
  'pulsar-inline': 'pulsar-tasks local://, one inline worker',
  'pulsar-redis': 'pulsar-tasks redis://',
  bullmq: 'BullMQ',
  'bee-queue': 'bee-queue',
};

/** Each measured contender other than BullMQ, divided by BullMQ; empty if BullMQ was not measured. */
export function ratiosToBullmq(outcomes: readonly Outcome[]): Ratio[] {
  const base = reportOf(outcomes, 'bullmq');
  if (!base) return [];
  const ratios: Ratio[] = [];
  for (const o of outcomes) {
    if (o.status !== 'ok' || o.contender === 'bullmq') continue;
    const r = o.report;
    ratios.push({
      contender: o.contender,
      throughput: ratio(r.throughput.medianTasksPerSec, base.throughput.medianTasksPerSec),
      p50: ratio(r.latency.p50, base.latency.p50),
      p95: ratio(r.latency.p95, base.latency.p95),
      p99: ratio(r.latency.p99, base.latency.p99),
      steadyP50: ratio(r.steadyLatency.p50, base.steadyLatency.p50),
      commandsPerTask: r.redis && base.redis ? ratio(r.redis.monitor.commandsPerTask, base.redis.monitor.commandsPerTask) : null,
      cpuPerTask: ratio(r.cpu.total, base.cpu.total),
      redisBytesPerTask: r.memory.redisBytesPerTask && base.memory.redisBytesPerTask ? ratio(r.memory.redisBytesPerTask, base.memory.redisBytesPerTask) : null,
    });
  }
  return ratios;
}

/** The producer's heap after GC before → after the rounds; for local://, also without its stored tasks. */
function producerHeap(m: MemoryReport): string {
  const kept = `${m.producerHeapBeforeGcMb} → ${m.producerHeapAfterGcMb}, ${m.producerRetainedBytesPerTask} B/task`;
  if (m.producerHeapWithoutStoredMb === null) return kept;
  return `${kept}; without the stored tasks ${m.producerHeapWithoutStoredMb}, ${m.producerBytesPerTaskWithoutStored} B/task`;
}

/** The results table, the ratios table, and a list of how each contender was set up. */
export function markdown(outcomes: readonly Outcome[], ratios: readonly Ratio[], title: string, settings: BenchSettings): string {
  const lines = [
    `### ${title}`,
    '',
    '| contender | throughput (tasks/s, median) | rounds min–max (tasks/s) | latency p50 / p95 / p99 (ms) | steady p50 / p99 (ms) | producer RSS start → end (heap after GC: before → after the rounds, bytes kept per task; local://: without the ended tasks its store keeps), MiB | worker RSS (MiB) | CPU ms / 1k tasks: producer + workers + redis | Redis cmds/task: sent (scripts) + in scripts = total | INFO commandstats / task | Redis bytes kept / finished task |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const o of outcomes) {
    const label = LABELS[o.contender];
    if (o.status === 'skipped') lines.push(`| ${label} | skipped: ${o.reason} | | | | | | | | | |`);
    else if (o.status === 'failed') lines.push(`| ${label} | FAILED: ${firstLine(o.error)} | | | | | | | | | |`);
    else {
      const r = o.report;
      const m = r.memory;
      const mon = r.redis?.monitor;
      const redis = mon ? `${mon.clientCommandsPerTask} (${mon.scriptCallsPerTask}) + ${mon.scriptInnerCommandsPerTask} = ${mon.commandsPerTask}` : '—';
      const server = r.redis ? String(r.redis.commandstats.commandsPerTask) : '—';
      lines.push(
        `| ${label} | ${r.throughput.medianTasksPerSec} | ${spread(r.throughput.rounds.map((x) => x.tasksPerSec))} | ` +
          `${r.latency.p50} / ${r.latency.p95} / ${r.latency.p99} | ${r.steadyLatency.p50} / ${r.steadyLatency.p99} | ${m.producerRssStartMb} → ${m.producerRssMb} (${producerHeap(m)}) | ` +
          `${m.workerRssMb.map((w) => w ?? '?').join(' + ')} | ${cpu(r)} | ${redis} | ${server} | ${m.redisBytesPerTask ?? '—'} |`,
      );
    }
  }
  if (ratios.length) {
    lines.push(
      '',
      '| ÷ BullMQ (same run) | throughput (↑ better) | p50 (↓ better) | p95 | p99 | steady p50 | CPU per task (↓ better) | Redis cmds/task (↓ better) | Redis bytes / finished task (↓ better) |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const r of ratios) {
      lines.push(`| ${LABELS[r.contender]} | ${r.throughput} | ${r.p50} | ${r.p95} | ${r.p99} | ${r.steadyP50} | ${r.cpuPerTask} | ${r.commandsPerTask ?? '—'} | ${r.redisBytesPerTask ?? '—'} |`);
    }
  } else {
    lines.push('', '_No ratios: BullMQ was not measured in this run._');
  }
  lines.push('');
  for (const o of outcomes) if (o.status === 'ok') lines.push(`- **${LABELS[o.contender]}**: ${o.report.setup}`);
  lines.push(
    '',
    `Each contender ran ${settings.passes} times, interleaved with the others, each time in a fresh driver process. ` +
      `Throughput: ${settings.tasks} no-op tasks queued in one bulk call, timed until the producer saw the last completion; ` +
      `median of ${settings.rounds * settings.passes} rounds (${settings.rounds} per pass, after an untimed ${settings.warmupTasks}-task round). ` +
      `Latency: ${settings.latencyTasks} sequential queue → result round trips per pass (after ${settings.latencyWarmup} untimed), percentiles over all passes; ` +
      `steady: ${settings.latencyTasks} more after a further ${settings.steadyWarmup} untimed, once the JIT has optimized the sequential path (a long-running service). ` +
      'Memory and CPU (utime + stime from /proc, per 1000 tasks) over the timed rounds, median of the passes; the heap after GC is what the producer retains (for local://, whose store lives in the producer, also once the store has dropped the ended tasks it keeps for resultTtl: the warm-up\'s before the rounds, the rounds\' after them). ' +
      'Redis commands: one more round watched with MONITOR, counting only the contender\'s connections (`sent` = requests its clients made, ' +
      '`in scripts` = commands its Lua scripts ran); INFO commandstats counts every client of the server over the timed rounds. ' +
      'Redis bytes kept per finished task: growth of `used_memory` over the timed rounds ÷ their tasks (every contender keeps its finished tasks by default; server-wide, so other clients add noise).',
  );
  return lines.join('\n');
}

function spread(values: readonly number[]): string {
  return values.length ? `${Math.min(...values)}–${Math.max(...values)}` : '—';
}

function cpu(r: ContenderReport): string {
  const c = r.cpu;
  return `${c.total} = ${c.producer} + ${c.workers ?? '?'} + ${c.redis ?? '—'}`;
}

function reportOf(outcomes: readonly Outcome[], id: ContenderId): ContenderReport | null {
  const o = outcomes.find((x) => x.contender === id);
  return o?.status === 'ok' ? o.report : null;
}

function ratio(a: number, b: number): number {
  return b > 0 ? Math.round((a / b) * 100) / 100 : Number.NaN;
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').replace(/\|/g, '\\|');
}
