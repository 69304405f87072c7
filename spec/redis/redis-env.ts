/**
 * The Redis the redis specs run against, a namespace of their own per run so that runs never
 * collide, and the rule for a missing Redis:
 * - `REDIS_URL` (default redis://127.0.0.1:6379) when it answers;
 * - else a private redis-server on a free port, started for this run and killed at its end, when
 *   one is installed (`REDIS_SERVER` names the binary);
 * - else the Redis specs are skipped with one line saying how to get Redis, or fail in CI.
 */
import { Redis } from 'ioredis';
import { redisServerInstalled, REDIS_SERVER_BIN, TestRedisServer } from '../support/redis-server.js';

/** The Redis that was asked for: `REDIS_URL`, default redis://127.0.0.1:6379. */
const WANTED_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** This run's namespace: `pt-test-<random>`. */
export const NAMESPACE = `pt-test-${Math.random().toString(36).slice(2, 10)}`;

function client(url: string, db?: number): Redis {
  const u = new URL(url);
  if (db !== undefined) u.pathname = `/${db}`;
  return new Redis(u.toString(), { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });
}

/** Why nothing answers at `url`, or null when Redis does. */
async function unreachable(url: string): Promise<string | null> {
  const c = client(url);
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.ping();
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    c.disconnect();
  }
}

/** The URL the specs use, and why there is none (null when there is one). */
async function resolveRedis(): Promise<{ url: string; missing: string | null }> {
  const why = await unreachable(WANTED_URL);
  if (why === null) return { url: WANTED_URL, missing: null };
  if (!redisServerInstalled()) {
    return { url: WANTED_URL, missing: `no Redis at ${WANTED_URL} (${why}) and no ${REDIS_SERVER_BIN} to start one` };
  }
  const server = await TestRedisServer.start();
  process.once('exit', () => server.destroyNow());
  return { url: server.url(), missing: null };
}

const resolved = await resolveRedis();

/** The Redis URL of the specs, without query: REDIS_URL, or this run's private redis-server. */
export const REDIS_URL = resolved.url;

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
  return client(REDIS_URL, db);
}

let warned = false;

/**
 * True when the specs have a Redis. When not: in CI (`CI` set) this rejects, so the run fails;
 * elsewhere it prints one line saying how to get Redis (once) and resolves false: the caller skips.
 */
export async function redisAvailable(): Promise<boolean> {
  if (resolved.missing === null) return true;
  if (process.env.CI) throw new Error(`${resolved.missing} (CI never skips the Redis specs)`);
  if (!warned) {
    warned = true;
    console.warn(
      `SKIPPING the Redis specs: ${resolved.missing}; install redis-server (apt install redis-server, brew install redis) or set REDIS_URL`,
    );
  }
  return false;
}

/** Deletes every key of this run's namespace in database `db` (the specs' leftovers); nothing without Redis. */
export async function dropNamespace(db?: number): Promise<void> {
  if (resolved.missing !== null) return;
  const c = rawClient(db);
  c.on('error', () => undefined);
  try {
    await c.connect();
    let cursor = '0';
    do {
      const [next, keys] = await c.scan(cursor, 'MATCH', `${NAMESPACE}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await c.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    c.disconnect();
  }
}
