/**
 * The scaling run (after the comparison in `npm run bench`, alone in `npm run bench:scaling`):
 * throughput of pulsar-tasks redis://, BullMQ and bee-queue against the concurrency per worker
 * (1, 10, 50, 200 with 2 workers) and against the worker processes (1, 2, 4 with 50 each), on
 * the same drivers as the comparison (scope `throughput`: a warm-up round, then timed rounds).
 * In each pass over the points every contender runs once per point, in a fresh driver process,
 * one after the other (the order rotates from point to point and pass to pass), on the same Redis;
 * the median over the rounds of all passes is reported. Rounds are sized by the task slots in
 * flight (tasksPerRound in scaling-plan.ts). Prints a markdown table, writes bench/scaling.json
 * and draws bench/scaling.svg.
 */
import { writeFileSync } from 'node:fs';
import { runThroughput } from './driver-host.js';
import type { BenchSettings, ContenderId, ThroughputResult } from './protocol.js';
import { gitCommit, machineInfo, removeLeftovers, type RedisProbe } from './run-env.js';
import { rotate, scalingPoints, SCALING_CONTENDERS, type PointResult } from './scaling-plan.js';
import { scalingChart, scalingMarkdown, scalingTitle } from './scaling-report.js';
import { DRIVER_FILES } from './settings.js';
import { median } from './stats.js';

const SVG = new URL('../scaling.svg', import.meta.url);
const JSON_FILE = new URL('../scaling.json', import.meta.url);

/** What the scaling run needs from its orchestrator. */
export interface ScalingRun {
  /** The comparison's settings, Redis filled in (their workers, concurrency, tasks and rounds are replaced per point). */
  base: BenchSettings;
  probe: RedisProbe;
  /** Passes over every point (each contender runs once per point per pass). */
  passes: number;
  /** Timed rounds per point per pass. */
  rounds: number;
  /** Only these contenders (BENCH_ONLY), when not empty. */
  only: readonly ContenderId[];
}

/** Measures every point, prints the table, writes bench/scaling.json and bench/scaling.svg. */
export async function runScaling({ base, probe, passes, rounds, only }: ScalingRun): Promise<void> {
  const redis = base.redis;
  if (!redis) {
    console.error(`scaling: skipped, Redis unavailable (${probe.error})`);
    return;
  }
  const contenders = SCALING_CONTENDERS.filter((c) => !only.length || only.includes(c));
  if (!contenders.length) {
    console.error(`scaling: skipped, BENCH_ONLY names none of ${SCALING_CONTENDERS.join(', ')}`);
    return;
  }
  const points = scalingPoints();
  const started = Date.now();
  console.error(
    `scaling ${base.runId}: ${contenders.join(', ')} at ${points.map((p) => `${p.workers}×${p.concurrency}`).join(', ')} (workers × concurrent tasks); ` +
      `${passes} passes × ${rounds} timed rounds per point, median of all; rounds sized by the slots in flight: ` +
      'tasks per round = min(5000, 500 × workers × concurrency), after an untimed warm-up of min(1000, that)',
  );
  const runs = new Map<string, ThroughputResult[]>();
  const failed = new Map<string, string>();
  const key = (i: number, c: ContenderId) => `${i}/${c}`;
  let leftoverKeys = 0;
  for (let pass = 1; pass <= passes; pass++) {
    for (const [i, point] of points.entries()) {
      const settings: BenchSettings = { ...base, workers: point.workers, concurrency: point.concurrency, tasks: point.tasks, warmupTasks: point.warmupTasks, rounds };
      for (const contender of rotate(contenders, i + pass - 1)) {
        if (failed.has(key(i, contender))) continue;
        const namespace = `${base.runId}-scale-${contender}-w${point.workers}c${point.concurrency}-p${pass}`;
        const label = `- pass ${pass} ${point.workers} × ${point.concurrency} ${contender}`;
        const t0 = Date.now();
        try {
          const r = await runThroughput(DRIVER_FILES[contender], { type: 'run', contender, settings, namespace }, base.deadlineMs * (rounds + 2) + 60_000);
          runs.set(key(i, contender), [...(runs.get(key(i, contender)) ?? []), r]);
          console.error(`${label}: ${r.medianTasksPerSec} tasks/s (rounds ${r.rounds.map((x) => x.tasksPerSec).join(', ')}; ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          failed.set(key(i, contender), error);
          console.error(`${label}: FAILED: ${error}`);
        }
        leftoverKeys += await removeLeftovers(redis, namespace);
      }
    }
  }
  const results: PointResult[] = points.map((point, i) => {
    const result: PointResult = { ...point, measured: {}, failed: {} };
    for (const c of contenders) {
      const error = failed.get(key(i, c));
      const done = runs.get(key(i, c)) ?? [];
      if (error) result.failed[c] = error;
      else if (done.length) {
        const all = done.flatMap((r) => r.rounds);
        result.measured[c] = { medianTasksPerSec: Math.round(median(all.map((r) => r.tasksPerSec))), passMedians: done.map((r) => r.medianTasksPerSec), rounds: all };
      }
    }
    return result;
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  const title = scalingTitle(probe);
  const table = scalingMarkdown(results, contenders, title, passes, rounds);
  console.log(table);
  console.error(`scaling took ${seconds} s`);
  if (leftoverKeys) console.error(`note: ${leftoverKeys} Redis key(s) left by a contender's own cleanup were removed`);

  const chart = scalingChart(results, contenders, probe, passes * rounds);
  for (const note of chart.notes) console.error(`scaling chart: ${note}`);
  if (chart.svg) {
    writeFileSync(SVG, chart.svg);
    console.error(`wrote ${SVG.pathname}`);
  }
  const json = {
    runId: base.runId,
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine: machineInfo(),
    redis: { version: probe.version, target: redis, backgroundCommandsPerSec: probe.backgroundCommandsPerSec },
    method:
      'Each point, each pass: a fresh driver process per contender (bench/drivers/, scope throughput), workers × concurrency as given, no-op ' +
      'addition tasks queued in bulk, timed from the bulk call to the producer seeing the last completion; an untimed warm-up round, then the ' +
      'timed rounds; the median over the rounds of all passes is reported. Contenders one after the other at each point, order rotated per ' +
      'point and pass, same Redis.',
    roundSizing: 'tasks per round = min(5000, 500 × workers × concurrency); warm-up = min(1000, tasks per round)',
    passes,
    rounds,
    seconds,
    contenders,
    points: results,
    markdown: table,
  };
  writeFileSync(JSON_FILE, JSON.stringify(json, null, 2) + '\n');
  console.error(`wrote ${JSON_FILE.pathname}`);
}
