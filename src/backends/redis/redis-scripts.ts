/**
 * The Lua scripts of the redis:// store, read from `lua/*.lua` beside this module, each after the
 * shared helpers of `lua/_lib.lua` (the store's clock, listings, locks, fencing, deferred batch
 * writes), and run with
 * EVALSHA (falling back to EVAL, which also caches the script, after a restart or SCRIPT FLUSH).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RedisClient } from './redis-link.js';

/** One Lua script: its source and its sha1. */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source, 'utf8').digest('hex');
  }

  /** Runs the script in one round trip. Arguments go as one array: batches may be large. */
  async run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const rest = [keys.length, ...keys, ...args];
    try {
      return await redis.call('EVALSHA', [this.sha, ...rest]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.call('EVAL', [this.source, ...rest]);
    }
  }
}

const read = (name: string): string => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
const LIB = read('_lib');

/**
 * The script body runs as a function so that whatever it returns, the writes and broadcasts it
 * deferred (lua/_lib.lua) are sent before the reply.
 */
function load(name: string): LuaScript {
  return new LuaScript(name, `${LIB}\nlocal function main()\n${read(name)}\nend\nlocal reply = main()\nflush_deferred()\nreturn reply\n`);
}

/** Every script, loaded once per process. */
export const scripts = {
  queue: load('queue'),
  pull: load('pull'),
  start: load('start'),
  finish: load('finish'),
  retry: load('retry'),
  renew: load('renew'),
  release: load('release'),
  recover: load('recover'),
  revoke: load('revoke'),
  list: load('list'),
  progress: load('progress'),
  purge: load('purge'),
} as const;
