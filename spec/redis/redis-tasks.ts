/**
 * Wire tasks and bare RedisStores for the store-level redis specs: they drive queue, pull, start,
 * finish and the rest as producers and workers would, without a registry or a TaskBackend.
 */
import { randomUUID } from 'node:crypto';
import { RedisStore, type RedisStoreOptions } from '../../src/backends/redis/redis.js';
import { QUEUED } from '../../src/model/states.js';
import type { WireTask } from '../../src/model/task.js';
import { specUrl } from './redis-env.js';

/** A QUEUED wire task as a producer builds it (its own clock in time_queued), with `fields` over it. */
export function wireTask(fields: Partial<WireTask> = {}): WireTask {
  return {
    id: randomUUID().replace(/-/g, ''),
    name: 'addition',
    status: QUEUED,
    kwargs: {},
    result: null,
    stacktrace: null,
    time_queued: Date.now() / 1000,
    time_started: null,
    time_ended: null,
    expiry: null,
    lock_id: null,
    from_task: null,
    worker: null,
    retries: 0,
    meta: {},
    priority: 0,
    eta: null,
    max_retries: 0,
    retry_delay: 0,
    timeout: null,
    redeliveries: 0,
    ...fields,
  };
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
