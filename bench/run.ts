/**
 * `npm run bench`: pulsar-tasks (local://, and redis:// once that scheme is registered) side by
 * side with BullMQ and bee-queue on the same Redis, in one run. Each contender runs in a fresh
 * driver process (bench/drivers/), never two at once, 3 passes interleaved (A B C D, A B C D, ...),
 * always with 2 worker processes × 50 concurrent tasks. Measured: throughput (5000 no-op tasks
 * queued in bulk, timed to the last completion, median of 5 rounds per pass), latency (500
 * sequential queue → result round trips per pass), memory (RSS of producer and workers after the
 * rounds), CPU time per task of every process involved, and Redis commands per task (exact via
 * MONITOR, and INFO commandstats deltas). Prints markdown tables, writes bench/results.json.
 * Every Redis key it makes starts with the run's id and is removed; nothing else is touched.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import '../src/backends/index.js';
import { taskBackends } from '../src/store/schemes.js';
import { runDriver } from './lib/driver-host.js';
import { mergePasses } from './lib/merge.js';
import { cpuMsOfPid } from './lib/proc.js';
import type { BenchSettings, ContenderId, DriverResult, RedisTarget } from './lib/protocol.js';
import { commandCounts, diffCounts, statsConnection } from './lib/redis-stats.js';
import { markdown, ratiosToBullmq, type Outcome } from './lib/report.js';
import { CONTENDERS, DRIVER_FILES, NEEDS_REDIS, readSettings } from './lib/settings.js';

const RESULTS = new URL('./results.json', import.meta.url);

interface RedisProbe {
  version: string | null;
  /** redis-server's pid when it runs on this machine (for its CPU time), else null. */
  pid: number | null;
  /** Commands/s other clients ran while this run was idle (they inflate commandstats deltas). */
  backgroundCommandsPerSec: number | null;
  error: string | null;
}

async function main(): Promise<void> {
  const { settings: base, redisTarget, only } = readSettings();
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
        console.error(`- pass ${pass} ${contender}: ${r.throughput.medianTasksPerSec} tasks/s, p50 ${r.latency.p50} ms, CPU ${r.cpu.total} ms/1k tasks`);
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
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null, totalMemMb: Math.round(os.totalmem() / 2 ** 20), node: process.version, platform: `${os.platform()} ${os.release()}` },
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
}

function skipReason(contender: ContenderId, settings: BenchSettings, probe: RedisProbe, pulsarRedis: boolean): string | null {
  if (NEEDS_REDIS.has(contender) && !settings.redis) return `Redis unavailable (${probe.error})`;
  if (contender === 'pulsar-redis' && !pulsarRedis) return 'the redis:// scheme is not registered yet (src/backends/index.ts)';
  return null;
}

/** Redis's version and the background command rate over one idle second, or why it cannot be reached. */
async function probeRedis(target: RedisTarget): Promise<RedisProbe> {
  const redis = statsConnection(target);
  try {
    const server = await redis.info('server');
    const version = /^redis_version:(\S+)/m.exec(server)?.[1] ?? null;
    const pid = Number(/^process_id:(\d+)/m.exec(server)?.[1]);
    const local = ['127.0.0.1', 'localhost', '::1'].includes(target.host) && cpuMsOfPid(pid) !== null;
    const before = await commandCounts(redis);
    await new Promise((r) => setTimeout(r, 1000));
    const after = await commandCounts(redis);
    const background = [...diffCounts(before, after).values()].reduce((s, n) => s + n, 0);
    return { version, pid: local ? pid : null, backgroundCommandsPerSec: background, error: null };
  } catch (err) {
    const cause = redis.lastError() ?? err;
    return { version: null, pid: null, backgroundCommandsPerSec: null, error: cause instanceof Error ? cause.message : String(cause) };
  } finally {
    redis.disconnect();
  }
}

/** Removes (and counts) keys under `namespace` that the contender's own cleanup left behind. */
async function removeLeftovers(target: RedisTarget, namespace: string): Promise<number> {
  const redis = statsConnection(target);
  let removed = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) removed += await redis.unlink(...keys);
    } while (cursor !== '0');
  } catch (err) {
    console.error(`could not check leftover keys of ${namespace}: ${String(err)}`);
  } finally {
    redis.disconnect();
  }
  if (removed) console.error(`  ${removed} leftover key(s) under ${namespace}* removed`);
  return removed;
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
