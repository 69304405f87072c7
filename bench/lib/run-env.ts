/**
 * What both orchestrators (bench/run.ts, bench/scaling.ts) learn about the run's surroundings:
 * the Redis they share (version, local pid, background load), the machine, the commit; and the
 * removal of keys a contender's own cleanup left behind.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { cpuMsOfPid } from './proc.js';
import type { RedisTarget } from './protocol.js';
import { commandCounts, diffCounts, statsConnection } from './redis-stats.js';

export interface RedisProbe {
  version: string | null;
  /** redis-server's pid when it runs on this machine (for its CPU time), else null. */
  pid: number | null;
  /** Commands/s other clients ran while this run was idle (they inflate commandstats deltas). */
  backgroundCommandsPerSec: number | null;
  error: string | null;
}

/** Redis's version and the background command rate over one idle second, or why it cannot be reached. */
export async function probeRedis(target: RedisTarget): Promise<RedisProbe> {
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
export async function removeLeftovers(target: RedisTarget, namespace: string): Promise<number> {
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

/** The short hash of HEAD, or null outside a git checkout. */
export function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The machine, as results.json and scaling.json record it. */
export function machineInfo(): { cpus: number; cpuModel: string | null; totalMemMb: number; node: string; platform: string } {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null, totalMemMb: Math.round(os.totalmem() / 2 ** 20), node: process.version, platform: `${os.platform()} ${os.release()}` };
}
