/**
 * The Lua scripts of the redis:// store, read from `lua/*.lua` beside this module, each after the
 * shared helpers of `lua/_lib.lua` (the store's clock, listings, locks, fencing, deferred batch
 * writes). On Redis 7 and later they run as the functions of one library (FCALL), loaded once per
 * server (again after a restart without persistence or a FUNCTION FLUSH): the helpers are defined
 * once, not at every run, which saves about a third of a one-task script run. Before Redis 7, or
 * where the user may not load functions, a connection runs them with EVALSHA (falling back to EVAL,
 * which also caches the script, after a restart or SCRIPT FLUSH). The library's name carries a hash
 * of its source: processes of different versions sharing a server each call their own.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'ioredis';
import { ioredis } from './redis-cluster.js';
import type { RedisClient } from './redis-link.js';

type ScriptCommand = new (name: 'evalsha' | 'eval' | 'fcall', args: string[], resend?: () => string[]) => Command;

/**
 * What a run sends instead when its command goes out a second time (its arguments): a Cluster
 * client sends a command again by itself when its node's connection closed with the command in
 * flight, though Redis may have run it (the reply alone was lost), and after a redirection.
 */
export type Resend = () => readonly (string | number)[];
let scriptCommand: ScriptCommand | null = null;

/** The header of a bulk string of n bytes (after the previous one's CRLF), for n below 1024. */
const BULK_HEADERS = Array.from({ length: 1024 }, (_, n) => `\r\n$${n}\r\n`);

/** The header of a bulk string of `n` bytes. */
function bulkHeader(n: number): string {
  return n < BULK_HEADERS.length ? (BULK_HEADERS[n] as string) : `\r\n$${n}\r\n`;
}

/**
 * The request of command `name` with `args`, each argument's length its UTF-8 byte count (`bytes`:
 * or its length in characters, right when every argument is ASCII).
 */
function request(name: string, args: readonly string[], bytes: boolean): string {
  let out = `*${args.length + 1}\r\n$${name.length}\r\n${name}`;
  for (const arg of args) out += bulkHeader(bytes ? Buffer.byteLength(arg) : arg.length) + arg;
  return out + '\r\n';
}

/**
 * An EVALSHA or EVAL of a whole batch (a queue or finish of 50 tasks has ~800 arguments), sent
 * as it is built. ioredis's own command copies its arguments with Array.prototype.flat (~100 ns
 * an argument); this one takes the array as given (every argument already a string). Each
 * argument's header is its length in characters, and one count of the whole request's UTF-8 bytes
 * (which also flattens it for the socket) tells whether that was its byte count: the request is
 * built again with byte counts only when an argument is not ASCII (a byte count per argument cost
 * more than the rest of the request). The store's connections use no key prefix (which this would
 * skip). Defined on first use: ioredis loads with the first connection (redis-cluster.ts), not
 * with this module.
 */
function ScriptCommand(): ScriptCommand {
  return (scriptCommand ??= class extends ioredis().Command {
    private written = false;

    constructor(
      name: 'evalsha' | 'eval' | 'fcall',
      args: string[],
      private readonly resend?: () => string[],
    ) {
      super(name, [], { replyEncoding: 'utf8' });
      this.args = args;
    }

    override toWritable(): string {
      // Written before: the client sends it again (Resend).
      if (this.written && this.resend) this.args = this.resend();
      this.written = true;
      const args = this.args as string[];
      const ascii = request(this.name, args, false);
      return Buffer.byteLength(ascii) === ascii.length ? ascii : request(this.name, args, true);
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

  /**
   * Runs the script in one round trip. Arguments go as one array: batches may be large. `resend`:
   * the arguments of the run should its command go out again (Resend).
   */
  run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[], resend?: Resend): Promise<unknown> {
    return this.evaluate(redis, keys, args, resend);
  }

  /** `run` with EVALSHA (EVAL when the server does not have the script cached). */
  async evaluate(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[], resend?: Resend): Promise<unknown> {
    const all = commandArgs(this.sha, keys, args);
    const Script = ScriptCommand();
    try {
      return await redis.sendCommand(new Script('evalsha', all, resendOf(this.sha, keys, resend)));
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      all[0] = this.source;
      return redis.sendCommand(new Script('eval', all, resendOf(this.source, keys, resend)));
    }
  }
}

/** The whole command of a Resend, or undefined. */
function resendOf(first: string, keys: readonly string[], resend: Resend | undefined): (() => string[]) | undefined {
  return resend && (() => commandArgs(first, keys, resend()));
}

/** `first` (a sha, source or function name), the number of keys, the keys, then the arguments as strings. */
function commandArgs(first: string, keys: readonly string[], args: readonly (string | number)[]): string[] {
  const all = new Array<string>(2 + keys.length + args.length);
  all[0] = first;
  all[1] = String(keys.length);
  for (let i = 0; i < keys.length; i++) all[2 + i] = keys[i] as string;
  for (let i = 0, at = 2 + keys.length; i < args.length; i++) all[at + i] = String(args[i]);
  return all;
}

/** Connections that run the store's scripts with EVALSHA: no functions there (before Redis 7, or not allowed). */
const evalOnly = new WeakSet<object>();

/** Raised by a library load the server or user refuses: the run goes on with EVALSHA. */
const NO_FUNCTIONS = new Error('functions unavailable');

/**
 * The refusals of FCALL itself, or of FUNCTION LOAD, by an older server or an ACL: not an error
 * raised inside a function (a run that failed there must not run again with EVALSHA).
 */
const FCALL_REFUSED = /^ERR unknown command [`']fcall[`']|^NOPERM .*[`']fcall[`'] command/i;
const LOAD_REFUSED = /^ERR unknown command [`']function[`']|^ERR unknown subcommand|^NOPERM .*[`']function\|load[`'] command/i;

/** The store's scripts as the functions of one library. */
class ScriptLibrary {
  readonly name: string;
  readonly source: string;

  constructor(lib: string, bodies: readonly (readonly [string, string])[]) {
    const text = bodies.map(([name, body]) => `local function main_${name}()\n${body}\nend\n`).join('');
    const register = bodies.map(([name]) => `redis.register_function('@_${name}', entry(main_${name}))\n`).join('');
    const code = `local KEYS, ARGV\n${lib}\n${text}${ENTRY}${register}`;
    this.name = `pulsar_${createHash('sha1').update(code, 'utf8').digest('hex').slice(0, 16)}`;
    this.source = `#!lua name=${this.name}\n${code.replaceAll("'@_", `'${this.name}_`)}`;
  }

  /** The function of script `name`. */
  functionOf(name: string): string {
    return `${this.name}_${name}`;
  }

  /**
   * Runs `script` as its function, loading the library first where the server does not have it;
   * with EVALSHA where the connection cannot run functions.
   */
  async call(redis: RedisClient, script: StoreScript, keys: readonly string[], args: readonly (string | number)[], resend?: Resend): Promise<unknown> {
    const all = commandArgs(script.functionName, keys, args);
    const Script = ScriptCommand();
    const again = resendOf(script.functionName, keys, resend);
    try {
      return await redis.sendCommand(new Script('fcall', all, again));
    } catch (err) {
      const message = err instanceof Error ? err.message : '';
      if (FCALL_REFUSED.test(message)) return this.withoutFunctions(redis, script, keys, args, resend);
      if (!/Function not found/i.test(message)) throw err;
    }
    try {
      await this.load(redis);
    } catch (err) {
      if (err !== NO_FUNCTIONS) throw err;
      return this.withoutFunctions(redis, script, keys, args, resend);
    }
    return redis.sendCommand(new Script('fcall', all, again));
  }

  /** The connection cannot run functions: this run and every later one use EVALSHA. */
  private withoutFunctions(redis: RedisClient, script: StoreScript, keys: readonly string[], args: readonly (string | number)[], resend?: Resend): Promise<unknown> {
    evalOnly.add(redis);
    return script.evaluate(redis, keys, args, resend);
  }

  /** Loads the library on the server (on every master of a cluster). */
  private async load(redis: RedisClient): Promise<void> {
    const Cluster = ioredis().Cluster;
    const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
    try {
      await Promise.all(nodes.map((node) => node.call('FUNCTION', 'LOAD', 'REPLACE', this.source)));
    } catch (err) {
      throw err instanceof Error && LOAD_REFUSED.test(err.message) ? NO_FUNCTIONS : err;
    }
  }
}

/**
 * A script's entry, as a function of the library or run by EVAL: the run's KEYS and ARGV, then the
 * script's body; the writes and broadcasts it deferred (lua/_lib.lua) are sent before the reply,
 * whatever it returns, and the run is marked ended (a run that fails before leaves its state to
 * be emptied by the next).
 */
const ENTRY = `local function entry(main)
  return function(keys, args)
    KEYS, ARGV = keys, args
    begin_run()
    local reply = main()
    flush_deferred()
    end_run()
    return reply
  end
end
`;

/** One of the store's scripts: a function of the library where the server has functions, else EVALSHA. */
export class StoreScript extends LuaScript {
  constructor(
    name: string,
    source: string,
    private readonly library: ScriptLibrary,
  ) {
    super(name, source);
    this.functionName = library.functionOf(name);
  }

  /** The function it runs as (FCALL), where functions are available. */
  readonly functionName: string;

  override run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[], resend?: Resend): Promise<unknown> {
    return evalOnly.has(redis) ? this.evaluate(redis, keys, args, resend) : this.library.call(redis, this, keys, args, resend);
  }
}

const read = (name: string): string => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
/** The helpers every script runs with: _lib.lua, then the ready listings it declares (_ready.lua). */
const LIB = `${read('_lib')}\n${read('_ready')}`;

const NAMES = ['queue', 'pull', 'start', 'finish', 'retry', 'renew', 'release', 'recover', 'revoke', 'list', 'progress', 'purge'] as const;
const BODIES = NAMES.map((name) => [name, read(name)] as const);
const LIBRARY = new ScriptLibrary(LIB, BODIES);

/** A script for EVAL: the helpers, its body, and the same entry as its function's. */
function load(name: string, body: string): StoreScript {
  const source = `local KEYS, ARGV = KEYS, ARGV\n${LIB}\nlocal function main()\n${body}\nend\n${ENTRY}return entry(main)(KEYS, ARGV)\n`;
  return new StoreScript(name, source, LIBRARY);
}

/** Every script, loaded once per process. */
export const scripts = Object.fromEntries(BODIES.map(([name, body]) => [name, load(name, body)])) as Record<(typeof NAMES)[number], StoreScript>;

/** The library of the store's functions (its name and source). */
export const scriptLibrary: { readonly name: string; readonly source: string } = LIBRARY;

/** A script's reply as an array (anything else: none). */
export function asArray(reply: unknown): unknown[] {
  return Array.isArray(reply) ? reply : [];
}
