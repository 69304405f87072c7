/**
 * The Redis the redis specs run against (`REDIS_URL`, default redis://127.0.0.1:6379), a
 * namespace of their own per run so that runs never collide, and the rule for a missing Redis:
 * skipped loudly on a developer machine, a failure in CI.
 */
import { Redis } from 'ioredis';

/** The Redis URL of the specs, without query. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** This run's namespace: `pt-test-<random>`. */
export const NAMESPACE = `pt-test-${Math.random().toString(36).slice(2, 10)}`;

/** `REDIS_URL` on database `db` (default: the URL's) with this run's namespace and more query. */
export function specUrl(query: Record<string, string> = {}, db?: number): string {
  const url = new URL(REDIS_URL);
  if (db !== undefined) url.pathname = `/${db}`;
  url.searchParams.set('namespace', NAMESPACE);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return url.toString();
}

/** A plain client of `REDIS_URL` (database `db`), for looking at keys from outside the store. */
export function rawClient(db?: number): Redis {
  const url = new URL(REDIS_URL);
  if (db !== undefined) url.pathname = `/${db}`;
  return new Redis(url.toString(), { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });
}

let availability: Promise<boolean> | null = null;

/**
 * True when Redis answers. When it does not: in CI (`CI` set) this rejects, so the run fails;
 * elsewhere it prints a loud message and resolves false, so the caller skips.
 */
export function redisAvailable(): Promise<boolean> {
  availability ??= (async () => {
    const client = rawClient();
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return true;
    } catch (err) {
      const why = `Redis is not reachable at ${REDIS_URL}: ${(err as Error).message}`;
      if (process.env.CI) throw new Error(`${why} (CI never skips the Redis specs)`);
      const bar = '!'.repeat(100);
      console.warn(`\n${bar}\n!!! SKIPPING THE REDIS SPECS: ${why}\n!!! Start redis-server or set REDIS_URL to run them.\n${bar}\n`);
      return false;
    } finally {
      client.disconnect();
    }
  })();
  return availability;
}

/** Deletes every key of this run's namespace in database `db` (the specs' leftovers). */
export async function dropNamespace(db?: number): Promise<void> {
  const client = rawClient(db);
  client.on('error', () => undefined);
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${NAMESPACE}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
