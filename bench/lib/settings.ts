/**
 * The run's settings: the brief's defaults (5000 tasks, 2 workers × 50, 500 latency samples),
 * overridable from the environment for quick looks:
 * BENCH_TASKS, BENCH_INLINE_TASKS, BENCH_ROUNDS, BENCH_PASSES, BENCH_LATENCY, BENCH_LATENCY_WARMUP, BENCH_STEADY_WARMUP, BENCH_REDIS_URL, BENCH_ONLY (comma-separated ids).
 * The scaling run (bench/lib/scaling.ts: redis:// vs BullMQ vs bee-queue at 2 workers × 1/10/50/200
 * concurrent tasks and 1/2/4 workers × 50, drawn to bench/scaling.svg) follows the comparison:
 * BENCH_SCALING=0 skips it (`npm run bench:scaling` runs it alone); BENCH_SCALING_PASSES (default 2)
 * and BENCH_SCALING_ROUNDS (timed rounds per point per pass, default 3) size it; BENCH_ONLY limits
 * its contenders too.
 */
import { randomBytes } from 'node:crypto';
import type { BenchSettings, ContenderId, RedisTarget } from './protocol.js';

/** Every contender, in the order they run. */
export const CONTENDERS: readonly ContenderId[] = ['pulsar-local', 'pulsar-inline', 'pulsar-redis', 'bullmq', 'bee-queue'];

/** The driver file (in bench/drivers/) of each contender. */
export const DRIVER_FILES: Record<ContenderId, string> = {
  'pulsar-local': 'pulsar.ts',
  'pulsar-inline': 'pulsar.ts',
  'pulsar-redis': 'pulsar.ts',
  bullmq: 'bullmq.ts',
  'bee-queue': 'bee-queue.ts',
};

/** Contenders that need Redis. */
export const NEEDS_REDIS: ReadonlySet<ContenderId> = new Set(['pulsar-redis', 'bullmq', 'bee-queue']);

/** Settings from the environment; the Redis target is filled in once it answered. */
export function readSettings(env: NodeJS.ProcessEnv = process.env): { settings: BenchSettings; redisTarget: RedisTarget; only: ContenderId[] } {
  const runId = `bench-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
  const settings: BenchSettings = {
    runId,
    tasks: positive(env.BENCH_TASKS, 5000, 'BENCH_TASKS'),
    inlineTasks: positive(env.BENCH_INLINE_TASKS, 20_000, 'BENCH_INLINE_TASKS'),
    rounds: positive(env.BENCH_ROUNDS, 5, 'BENCH_ROUNDS'),
    passes: positive(env.BENCH_PASSES, 3, 'BENCH_PASSES'),
    warmupTasks: 5000,
    latencyTasks: positive(env.BENCH_LATENCY, 500, 'BENCH_LATENCY'),
    latencyWarmup: positive(env.BENCH_LATENCY_WARMUP, 50, 'BENCH_LATENCY_WARMUP'),
    steadyWarmup: positive(env.BENCH_STEADY_WARMUP, 2000, 'BENCH_STEADY_WARMUP'),
    workers: 2,
    concurrency: 50,
    redis: null,
    redisPid: null,
    deadlineMs: 60_000,
  };
  const only = (env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const id of only) if (!(CONTENDERS as readonly string[]).includes(id)) throw new Error(`BENCH_ONLY: unknown contender "${id}" (known: ${CONTENDERS.join(', ')})`);
  return { settings, redisTarget: parseRedisUrl(env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0'), only: only as ContenderId[] };
}

function parseRedisUrl(raw: string): RedisTarget {
  const url = new URL(raw);
  if (url.protocol !== 'redis:') throw new Error(`BENCH_REDIS_URL must be redis://host:port/db, got ${raw}`);
  return { host: url.hostname || '127.0.0.1', port: Number(url.port || 6379), db: Number(url.pathname.slice(1) || 0) };
}

function positive(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

/** The scaling run's switches: BENCH_SCALING (0 skips it, 1 the default runs it), BENCH_SCALING_PASSES, BENCH_SCALING_ROUNDS. */
export function readScalingSettings(env: NodeJS.ProcessEnv = process.env): { enabled: boolean; passes: number; rounds: number } {
  const raw = env.BENCH_SCALING ?? '1';
  if (raw !== '0' && raw !== '1') throw new Error(`BENCH_SCALING must be 0 (skip the scaling run) or 1, got ${raw}`);
  return {
    enabled: raw === '1',
    passes: positive(env.BENCH_SCALING_PASSES, 2, 'BENCH_SCALING_PASSES'),
    rounds: positive(env.BENCH_SCALING_ROUNDS, 3, 'BENCH_SCALING_ROUNDS'),
  };
}
