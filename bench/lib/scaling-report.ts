/**
 * The scaling run's figures as a markdown table and as the chart bench/scaling.svg (two panels:
 * tasks/s against concurrency per worker, and against worker processes; one line per contender).
 */
import os from 'node:os';
import type { ContenderId } from './protocol.js';
import { LABELS } from './report.js';
import type { RedisProbe } from './run-env.js';
import { AXIS_CONCURRENCY, AXIS_WORKERS, CONCURRENCY_AXIS, WORKERS_AXIS, type PointResult } from './scaling-plan.js';
import { renderChart, type ChartPanel, type ChartSeries } from './svg-chart.js';

/** "2 CPUs (AMD EPYC), Node v20.19.0, Redis 7.0.15". */
export function scalingTitle(probe: RedisProbe): string {
  const model = os.cpus()[0]?.model.trim();
  return `${os.cpus().length} CPUs${model ? ` (${model})` : ''}, Node ${process.version}, Redis ${probe.version ?? 'n/a'}`;
}

/** One row per point (concurrency axis, then the other worker counts), tasks/s per contender and redis:// ÷ BullMQ. */
export function scalingMarkdown(points: readonly PointResult[], contenders: readonly ContenderId[], machine: string, passes: number, rounds: number): string {
  const ratio = contenders.includes('pulsar-redis') && contenders.includes('bullmq');
  const lines = [
    `### Scaling: tasks/s against workers × concurrent tasks — ${machine}`,
    '',
    `| workers × concurrent tasks each | tasks per round | ${contenders.map((c) => LABELS[c]).join(' | ')} |${ratio ? ' redis:// ÷ BullMQ |' : ''}`,
    `|---|---:|${contenders.map(() => '---:|').join('')}${ratio ? '---:|' : ''}`,
  ];
  for (const p of points) {
    const cells = contenders.map((c) => {
      const m = p.measured[c];
      return m ? group(m.medianTasksPerSec) : 'failed';
    });
    const pulsar = p.measured['pulsar-redis']?.medianTasksPerSec;
    const bullmq = p.measured.bullmq?.medianTasksPerSec;
    const r = ratio ? ` ${pulsar !== undefined && bullmq ? (pulsar / bullmq).toFixed(2) : '—'} |` : '';
    lines.push(`| ${p.workers} × ${p.concurrency} | ${group(p.tasks)} | ${cells.join(' | ')} |${r}`);
  }
  lines.push(
    '',
    `Median of ${passes * rounds} timed rounds per point (${passes} passes × ${rounds}; no-op tasks queued in bulk, timed to the producer's last completion), ` +
      'each pass after an untimed warm-up; rounds sized by the slots in flight: tasks per round = min(5000, 500 × workers × concurrency). ' +
      'Each contender in a fresh driver process per pass, one at a time, same Redis. ' +
      `${AXIS_WORKERS} × ${AXIS_CONCURRENCY} belongs to both axes.`,
  );
  const failures = points.flatMap((p) => Object.entries(p.failed).map(([c, e]) => `- ${p.workers} × ${p.concurrency} ${c}: ${String(e).split('\n')[0]}`));
  if (failures.length) lines.push('', 'Failed:', ...failures);
  return lines.join('\n');
}

/**
 * The chart, or null when nothing complete is left to draw; a contender missing a point of an
 * axis is left out of that panel (said in `notes`).
 */
export function scalingChart(points: readonly PointResult[], contenders: readonly ContenderId[], probe: RedisProbe, rounds: number): { svg: string | null; notes: string[] } {
  const notes: string[] = [];
  const at = (workers: number, concurrency: number) => points.find((p) => p.workers === workers && p.concurrency === concurrency);
  const panel = (title: string, xLabel: string, axis: readonly number[], point: (x: number) => PointResult | undefined): ChartPanel | null => {
    const series: ChartSeries[] = [];
    for (const c of contenders) {
      const values = axis.map((x) => point(x)?.measured[c]?.medianTasksPerSec);
      if (values.every((v): v is number => v !== undefined)) series.push({ name: LABELS[c], values });
      else notes.push(`${LABELS[c]} left out of "${title}": not measured at every point`);
    }
    return series.length ? { title, xLabel, yLabel: 'tasks/s (median)', categories: axis, series } : null;
  };
  const panels = [
    panel(`vs concurrency per worker (${AXIS_WORKERS} workers)`, 'concurrent tasks per worker', CONCURRENCY_AXIS, (c) => at(AXIS_WORKERS, c)),
    panel(`vs worker processes (${AXIS_CONCURRENCY} concurrent tasks each)`, 'worker processes', WORKERS_AXIS, (w) => at(w, AXIS_CONCURRENCY)),
  ].filter((p): p is ChartPanel => p !== null);
  if (!panels.length) return { svg: null, notes: [...notes, 'nothing to draw'] };
  const names = contenders.map((c) => LABELS[c]).join(' vs ');
  const svg = renderChart({
    title: `Throughput scaling: ${names}`,
    subtitle: `${scalingTitle(probe)} · no-op tasks queued in bulk, median of ${rounds} rounds · ${new Date().toISOString().slice(0, 10)}`,
    panels,
  });
  return { svg, notes };
}

/** 12709 → "12 709", as the README's tables write them. */
function group(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}
