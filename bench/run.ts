/**
 * `npm run bench`: pulsar-tasks (local://, and redis:// once that scheme is registered) side by
 * side with BullMQ and bee-queue on the same Redis, in one run. Each contender runs in a fresh
 * driver process (bench/drivers/), never two at once, 3 passes interleaved (A B C D, A B C D, ...),
 * always with 2 worker processes × 50 concurrent tasks. Measured: throughput (5000 no-op tasks
 * queued in bulk, timed to the last completion, median of 5 rounds per pass), latency (500
 * sequential queue → result round trips per pass, then 500 more after 2000 untimed: the steady
 * state of a long-running process), memory (RSS of producer and workers after the
 * rounds), CPU time per task of every process involved, and Redis commands per task (exact via
 * MONITOR, and INFO commandstats deltas). Prints markdown tables, writes bench/results.json.
 * pulsar-tasks is measured as built (dist/, built first: bench/lib/build.ts).
 * Then the scaling run (bench/lib/scaling.ts → bench/scaling.svg, bench/scaling.json) unless BENCH_SCALING=0.
 * Every Redis key it makes starts with the run's id and is removed; nothing else is touched.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import '../src/backends/index.js';
import { taskBackends } from '../src/store/schemes.js';
import { buildPackage } from './lib/build.js';
import { runDriver } from './lib/driver-host.js';
import { mergePasses } from './lib/merge.js';
import type { BenchSettings, ContenderId, DriverResult } from './lib/protocol.js';
import { gitCommit, machineInfo, probeRedis, removeLeftovers, type RedisProbe } from './lib/run-env.js';
import { markdown, ratiosToBullmq, type Outcome } from './lib/report.js';
import { runScaling } from './lib/scaling.js';
import { CONTENDERS, DRIVER_FILES, NEEDS_REDIS, readScalingSettings, readSettings } from './lib/settings.js';

const RESULTS = new URL('./results.json', import.meta.url);

async function main(): Promise<void> {
  const { settings: base, redisTarget, only } = readSettings();
  const scaling = readScalingSettings();
  buildPackage();
  const probe = await probeRedis(redisTarget);
  const settings: BenchSettings = { ...base, redis: probe.error ? null : redisTarget, redisPid: probe.pid };
  const pulsarRedis = taskBackends.has('redis');
  console.error(
    `bench ${settings.runId}: ${settings.passes} passes × ${settings.rounds} rounds × ${settings.tasks} tasks, ${settings.latencyTasks} latency samples, ` +
      `${settings.workers} workers × ${settings.concurrency}; Redis ${probe.error ? `unavailable (${probe.error})` : `${probe.version} at ${redisTarget.host}:${redisTarget.port}/${redisTarget.db}`}`,
  );

  const skipped = new Map<ContenderId, string>();
  const runnable: ContenderId[] = [];
  for (const contender of CONTENDERS) {
    if (only.length && !only.includes(contender)) continue;
    const skip = skipReason(contender, settings, probe, pulsarRedis);
    if (skip) {
      console.error(`- ${contender}: skipped, ${skip}`);
      skipped.set(contender, skip);
    } else runnable.push(contender);
  }

  const passes = new Map<ContenderId, DriverResult[]>(runnable.map((c) => [c, []]));
  const failures = new Map<ContenderId, string>();
  let leftoverKeys = 0;
  for (let pass = 1; pass <= settings.passes; pass++) {
    for (const contender of runnable) {
      if (failures.has(contender)) continue;
      const namespace = `${settings.runId}-${contender}-p${pass}`;
      const budget = settings.deadlineMs * (settings.rounds + 4) + 60_000;
      try {
        const result = await runDriver(DRIVER_FILES[contender], { type: 'run', contender, settings, namespace }, budget);
        passes.get(contender)?.push(result);
        const r = result.report;
        console.error(`- pass ${pass} ${contender}: ${r.throughput.medianTasksPerSec} tasks/s, p50 ${r.latency.p50} ms (steady ${r.steadyLatency.p50}), CPU ${r.cpu.total} ms/1k tasks`);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        console.error(`- pass ${pass} ${contender}: FAILED: ${error}`);
        failures.set(contender, error);
      }
      if (settings.redis && NEEDS_REDIS.has(contender)) leftoverKeys += await removeLeftovers(settings.redis, namespace);
    }
  }
  const outcomes: Outcome[] = [];
  for (const contender of CONTENDERS) {
    const skip = skipped.get(contender);
    const error = failures.get(contender);
    const done = passes.get(contender) ?? [];
    if (skip) outcomes.push({ contender, status: 'skipped', reason: skip });
    else if (error) outcomes.push({ contender, status: 'failed', error });
    else if (done.length) outcomes.push({ contender, status: 'ok', report: mergePasses(done) });
  }

  const ratios = ratiosToBullmq(outcomes);
  const table = markdown(outcomes, ratios, `pulsar-tasks vs BullMQ vs bee-queue — ${os.cpus().length} CPUs, Node ${process.version}, Redis ${probe.version ?? 'n/a'}`, settings);
  console.log(table);
  if (leftoverKeys) console.error(`note: ${leftoverKeys} Redis key(s) left by a contender's own cleanup were removed`);
  if (probe.backgroundCommandsPerSec) console.error(`note: other Redis clients ran ${probe.backgroundCommandsPerSec} commands/s while idle; the INFO commandstats column includes them (the MONITOR counts do not)`);

  const results = {
    runId: settings.runId,
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine: machineInfo(),
    redis: { ...probe, target: settings.redis },
    settings,
    outcomes,
    ratiosToBullmq: ratios,
    passes: Object.fromEntries([...passes].map(([c, results]) => [c, results.map((r) => r.report)])),
    leftoverKeysRemoved: leftoverKeys,
    markdown: table,
  };
  writeFileSync(RESULTS, JSON.stringify(results, null, 2) + '\n');
  console.error(`wrote ${RESULTS.pathname}`);

  if (scaling.enabled && pulsarRedis) await runScaling({ base: settings, probe, passes: scaling.passes, rounds: scaling.rounds, only });
  else console.error(`scaling run skipped (${scaling.enabled ? 'the redis:// scheme is not registered' : 'BENCH_SCALING=0'})`);
}

function skipReason(contender: ContenderId, settings: BenchSettings, probe: RedisProbe, pulsarRedis: boolean): string | null {
  if (NEEDS_REDIS.has(contender) && !settings.redis) return `Redis unavailable (${probe.error})`;
  if (contender === 'pulsar-redis' && !pulsarRedis) return 'the redis:// scheme is not registered yet (src/backends/index.ts)';
  return null;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
