/**
 * Wire tasks and bare RedisStores for the store-level redis specs: they drive queue, pull, start,
 * finish and the rest as producers and workers would, without a registry or a TaskBackend.
 */
import type { Redis } from 'ioredis';
import { RedisKeys } from '../../src/backends/redis/redis-codec.js';
import { RedisStore, type RedisStoreOptions } from '../../src/backends/redis/redis.js';
import { scripts } from '../../src/backends/redis/redis-scripts.js';
import { specUrl } from './redis-env.js';

export { wireTask } from '../support/wire-task.js';

/** Counts the runs of a script (every store of this process) while `fn` runs. */
export async function countRuns(script: keyof typeof scripts, fn: () => Promise<void>): Promise<number> {
  const target = scripts[script];
  const run = target.run;
  let runs = 0;
  target.run = function (this: typeof target, ...args: Parameters<typeof run>) {
    runs += 1;
    return run.apply(this, args);
  };
  try {
    await fn();
  } finally {
    target.run = run;
  }
  return runs;
}

/** A fresh application name. */
export function appName(prefix = 'app'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Opens stores and closes them all at once (afterEach). */
export class Stores {
  private readonly open: RedisStore[] = [];

  /** A store of `name` on `url` (default: the specs' Redis with this run's namespace). */
  store(name: string, options: Omit<RedisStoreOptions, 'name'> = {}, url = specUrl()): RedisStore {
    const store = new RedisStore(url, { ...options, name });
    this.open.push(store);
    return store;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.open.splice(0).map((s) => s.close()));
  }
}

/** Resolves once the store's clock is past `ms` (polling the store's own clock, not sleeping blind). */
export async function storeClockPast(store: RedisStore, ms: number): Promise<void> {
  while ((await store.now()) <= ms) await new Promise((r) => setTimeout(r, 5));
}

/** One bucket of a ready status's listing (lua/_ready.lua), as stored. */
export interface ReadyBucket {
  /** Its member in the index, `<n>:<base>`, and its key's last part. */
  n: string;
  /** The score its entries' offsets are from. */
  base: number;
  /** Its bound in the index: the lowest score it may hold. */
  bound: number;
  /** The highest score recorded for it (rt:<status>), or null when none is. */
  top: number | null;
  /** Its entries `<offset>:<id>` as stored, and their ids and scores (the same order). */
  entries: string[];
  ids: string[];
  scores: number[];
  /** OBJECT ENCODING of its list. */
  encoding: string;
}

/** The buckets listing ready status `status` of the app whose keys are `keys`, by bound. */
export async function readyBuckets(raw: Redis, keys: RedisKeys, status: number): Promise<ReadyBucket[]> {
  const index = await raw.zrange(keys.readyIndex(status), 0, -1, 'WITHSCORES');
  const out: ReadyBucket[] = [];
  for (let k = 0; k < index.length; k += 2) {
    const n = index[k] as string;
    const key = keys.readyBucket(status, n);
    const base = Number(n.slice(n.indexOf(':') + 1));
    const entries = await raw.lrange(key, 0, -1);
    // Each bucket's recorded top, a hash only the scripts name (lua/_ready.lua: rt:<code>).
    const top = await raw.hget(`${keys.prefix}rt:${status}`, n);
    out.push({
      n,
      base,
      bound: Number(index[k + 1]),
      top: top === null ? null : Number(top),
      entries,
      ids: entries.map((e) => e.slice(e.indexOf(':') + 1)),
      scores: entries.map((e) => base + Number(e.slice(0, e.indexOf(':')))),
      encoding: String(await raw.object('ENCODING', key)),
    });
  }
  return out;
}

/** Every id listed under a status of the app whose keys are `keys`: the zsets s:1 … s:6 and the ready buckets. */
export async function listedIds(raw: Redis, keys: RedisKeys): Promise<string[]> {
  const zsets = await Promise.all([1, 2, 3, 4, 5, 6].map((st) => raw.zrange(keys.byStatus(st), 0, -1)));
  const buckets = await Promise.all([1, 2, 3].map((st) => readyBuckets(raw, keys, st)));
  return [...zsets.flat(), ...buckets.flat().flatMap((b) => b.ids)];
}
