/**
 * Wire tasks and bare RedisStores for the store-level redis specs: they drive queue, pull, start,
 * finish and the rest as producers and workers would, without a registry or a TaskBackend.
 */
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
