/**
 * Redis server counters read around a measured window: `INFO commandstats` (calls per command,
 * commands run inside Lua scripts included) and `INFO memory` used_memory. They count every
 * client of the server, so the orchestrator also samples the background rate when idle.
 */
import { Redis } from 'ioredis';
import type { RedisTarget, ServerCommandStats } from './protocol.js';
import { mib } from './proc.js';

/** Calls per command name (`evalsha`, `hset`, `client|setname`, ...). */
export type CommandCounts = Map<string, number>;

/**
 * A plain ioredis connection for reading counters (not used by any contender). It does not
 * reconnect; `lastError()` says why it failed (its commands only say the connection is closed).
 */
export function statsConnection(target: RedisTarget): Redis & { lastError(): Error | null } {
  const redis = new Redis({ host: target.host, port: target.port, db: target.db, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: () => null });
  let last: Error | null = null;
  redis.on('error', (err: Error) => (last = err));
  return Object.assign(redis, { lastError: () => last });
}

/** The server's cumulative calls per command. */
export async function commandCounts(redis: Redis): Promise<CommandCounts> {
  const text = await redis.info('commandstats');
  const counts: CommandCounts = new Map();
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) counts.set(match[1] as string, Number(match[2]));
  return counts;
}

/** The server's used_memory in bytes. */
export async function usedMemory(redis: Redis): Promise<number> {
  const text = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

/** Growth of used_memory between two readings, in MiB. */
export function memoryDeltaMb(before: number, after: number): number {
  return mib(after - before);
}

/** `after - before` per command, without the counter reads themselves (one `info` per reading). */
export function diffCounts(before: CommandCounts, after: CommandCounts, ownInfoCalls = 1): CommandCounts {
  const delta: CommandCounts = new Map();
  for (const [cmd, calls] of after) {
    let d = calls - (before.get(cmd) ?? 0);
    if (cmd === 'info') d -= ownInfoCalls;
    if (d > 0) delta.set(cmd, d);
  }
  return delta;
}

/** Server-wide commands per task over a window that ran `tasks` tasks. */
export function serverCommandStats(delta: CommandCounts, tasks: number): ServerCommandStats {
  const total = [...delta.values()].reduce((s, n) => s + n, 0);
  const scripts = ['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro'].reduce((s, c) => s + (delta.get(c) ?? 0), 0);
  const perTaskByCommand: Record<string, number> = {};
  for (const [cmd, calls] of [...delta].sort((a, b) => b[1] - a[1])) perTaskByCommand[cmd] = perTask(calls, tasks);
  return { tasks, totalCommands: total, commandsPerTask: perTask(total, tasks), scriptCallsPerTask: perTask(scripts, tasks), perTaskByCommand };
}

function perTask(calls: number, tasks: number): number {
  return Math.round((calls / tasks) * 100) / 100;
}
