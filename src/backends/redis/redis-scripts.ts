/**
 * The Lua scripts of the redis:// store, read from `lua/*.lua` beside this module, each after the
 * shared helpers of `lua/_lib.lua` (the store's clock, listings, locks, fencing, deferred batch
 * writes), and run with
 * EVALSHA (falling back to EVAL, which also caches the script, after a restart or SCRIPT FLUSH).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'ioredis';
import { ioredis } from './redis-cluster.js';
import type { RedisClient } from './redis-link.js';

type ScriptCommand = new (name: 'evalsha' | 'eval', args: string[]) => Command;
let scriptCommand: ScriptCommand | null = null;

/**
 * An EVALSHA or EVAL of a whole batch (a queue or finish of 50 tasks has ~1500 arguments), sent
 * as it is built. ioredis's own command copies its arguments with Array.prototype.flat (~100 ns
 * an argument) and builds the request by `+=`, a rope the socket then flattens while writing;
 * this one takes the array as given (every argument already a string) and joins the request in
 * one pass. The store's connections use no key prefix (which this would skip). Defined on first
 * use: ioredis loads with the first connection (redis-cluster.ts), not with this module.
 */
function ScriptCommand(): ScriptCommand {
  return (scriptCommand ??= class extends ioredis().Command {
    constructor(name: 'evalsha' | 'eval', args: string[]) {
      super(name, [], { replyEncoding: 'utf8' });
      this.args = args;
    }

    override toWritable(): string {
      const args = this.args as string[];
      const parts = new Array<string>(2 * args.length + 2);
      parts[0] = `*${args.length + 1}\r\n$${this.name.length}\r\n${this.name}`;
      for (let i = 0; i < args.length; i++) {
        const arg = args[i] as string;
        parts[2 * i + 1] = `\r\n$${Buffer.byteLength(arg)}\r\n`;
        parts[2 * i + 2] = arg;
      }
      parts[parts.length - 1] = '\r\n';
      return parts.join('');
    }
  });
}

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
    const all = new Array<string>(2 + keys.length + args.length);
    all[0] = this.sha;
    all[1] = String(keys.length);
    for (let i = 0; i < keys.length; i++) all[2 + i] = keys[i] as string;
    for (let i = 0, at = 2 + keys.length; i < args.length; i++) all[at + i] = String(args[i]);
    const Script = ScriptCommand();
    try {
      return await redis.sendCommand(new Script('evalsha', all));
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      all[0] = this.source;
      return redis.sendCommand(new Script('eval', all));
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
