/**
 * The number of shards a queue is stored with, kept in `<namespace>:{<name>}:shards` (absent: one
 * shard, the layout of a queue that never had more). A store opened with another number than the
 * stored one is refused while the queue holds any task (of any status: a stored result is found
 * from its id, and the id's shard depends on the number); once the queue is empty (flushed or
 * purged), the new number is stored and the periodic last runs move to the new claim shard.
 *
 * This is checked when a store makes its first call, not on every write: two processes started
 * at once with different numbers on an empty queue are not told apart.
 */
import { ImproperlyConfigured } from '../../model/errors.js';
import { FAILURE, QUEUED, RETRY, REVOKED, STARTED, SUCCESS } from '../../model/states.js';
import type { RedisLink } from './redis-link.js';
import { shardTag } from './redis-shard-route.js';

const STATUSES = [SUCCESS, FAILURE, REVOKED, RETRY, STARTED, QUEUED];

/** The key holding the number of shards of app `name`. */
export function layoutKey(namespace: string, name: string): string {
  return `${namespace}:{${name}}:shards`;
}

/** The key prefix of each shard of a queue stored with `k` shards. */
export function shardPrefixes(namespace: string, name: string, k: number): string[] {
  return Array.from({ length: k }, (_, i) => `${namespace}:{${shardTag(name, i, k)}}:`);
}

/**
 * Resolves once the queue is stored with `k` shards (storing `k` when the queue is empty);
 * rejects with ImproperlyConfigured when it holds tasks under another number.
 */
export async function ensureLayout(link: RedisLink, namespace: string, name: string, k: number): Promise<void> {
  const key = layoutKey(namespace, name);
  const stored = await link.run((r) => r.get(key));
  const was = stored === null ? 1 : Number(stored);
  if (was === k) return;
  const old = shardPrefixes(namespace, name, was);
  // Every task is in the listing of its status (s:1 … s:6, or the buckets of a ready one, indexed
  // by rx:1 … rx:3, or that one's entries still pending, the lists rp:1 … rp:3: lua/_ready.lua);
  // `all` is where older versions listed them.
  const ready = [SUCCESS, FAILURE, REVOKED];
  const listings = old.flatMap((prefix) => [...STATUSES.map((status) => `${prefix}s:${status}`), ...ready.map((code) => `${prefix}rx:${code}`), `${prefix}all`]);
  const pending = old.flatMap((prefix) => ready.map((code) => `${prefix}rp:${code}`));
  const counts = await Promise.all([
    ...listings.map((key) => link.run((r) => r.zcard(key))),
    ...pending.map((key) => link.run((r) => r.llen(key))),
  ]);
  const held = counts.reduce((a, b) => a + b, 0);
  if (held > 0) {
    throw new ImproperlyConfigured(
      `The queue "${name}" on ${link.settings.display} is stored with ${was} shard${was === 1 ? '' : 's'} and holds ${held} task${held === 1 ? '' : 's'}: ` +
        `it cannot be opened with shards=${k}. Keep shards=${was}, or empty it first (let it drain, then purge or flush it) and open it with shards=${k}.`,
    );
  }
  // The periodic last runs follow the claim shard (the first), so that no job runs again early.
  const runs = await link.run((r) => r.hgetall(`${old[0]}lastruns`));
  const claimShard = shardPrefixes(namespace, name, k)[0] as string;
  if (Object.keys(runs).length) await link.run((r) => r.hset(`${claimShard}lastruns`, runs));
  await link.run(async (r) => void (k === 1 ? await r.del(key) : await r.set(key, String(k))));
}
