/**
 * Wire tasks and bare RedisStores for the store-level redis specs: they drive queue, pull, start,
 * finish and the rest as producers and workers would, without a registry or a TaskBackend.
 */
import { RedisStore, type RedisStoreOptions } from '../../src/backends/redis/redis.js';
import { specUrl } from './redis-env.js';

export { wireTask } from '../support/wire-task.js';

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
