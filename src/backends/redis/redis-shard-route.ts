/**
 * Where the tasks of a sharded queue live. Shard `i` of app `name` has its own hash tag
 * `{name:i}`; a task lives on the shard its id hashes to (FNV-1a, 32 bits, modulo K), so any
 * id-addressed call (get, revoke, progress, start, finish, …) finds the shard from the id alone.
 *
 * A task with a non-overlap lock id (or else an idempotency key) must live on the shard of that
 * key, so that the check stays one atomic script: when its id hashes elsewhere, it is given a new
 * id that hashes there (its last 8 characters re-derived deterministically from the id, so a
 * resent batch gets the same ids). `queue` answers the ids it stored, as the store contract says.
 */
import type { WireTask } from '../../model/task.js';

/** FNV-1a, 32 bits, of the UTF-16 code units of `text`. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The shard of a task id, or of a lock id / idempotency key, among `k`. */
export function shardOf(key: string, k: number): number {
  return k <= 1 ? 0 : fnv1a(key) % k;
}

const HEX32 = /^[0-9a-f]{32}$/;

/**
 * An id like `id` that hashes to `shard`: a 32-hex id keeps its first 24 characters, any other
 * gets a `.xxxxxxxx` suffix; the 8 hex characters come from hashing the id with a counter.
 */
export function idOnShard(id: string, shard: number, k: number): string {
  for (let n = 0; ; n++) {
    const suffix = fnv1a(`${id}#${n}`).toString(16).padStart(8, '0');
    const candidate = HEX32.test(id) ? id.slice(0, 24) + suffix : `${id}.${suffix}`;
    if (shardOf(candidate, k) === shard) return candidate;
  }
}

/** A task placed on its shard: the task (its id possibly re-made) and the shard. */
export interface Placed {
  task: WireTask;
  shard: number;
}

/**
 * Places a task among `k` shards: by its lock id, else by `key` (its idempotency key), else by
 * its id. An id that is not a usable string is left as it is, for the queue script's own error.
 */
export function place(task: WireTask, key: string | null | undefined, k: number): Placed {
  if (typeof task?.id !== 'string' || !task.id || /\s/.test(task.id)) return { task, shard: 0 };
  const by = typeof task.lock_id === 'string' && task.lock_id ? `lock:${task.lock_id}` : typeof key === 'string' && key ? `key:${key}` : null;
  const own = shardOf(task.id, k);
  if (by === null) return { task, shard: own };
  const shard = shardOf(by, k);
  return shard === own ? { task, shard } : { task: { ...task, id: idOnShard(task.id, shard, k) }, shard };
}

/** Groups `items` by shard, keeping each one's index in the whole. */
export function byShard<T>(items: readonly T[], shardOfItem: (item: T) => number): Map<number, { item: T; index: number }[]> {
  const groups = new Map<number, { item: T; index: number }[]>();
  items.forEach((item, index) => {
    const s = shardOfItem(item);
    let group = groups.get(s);
    if (!group) groups.set(s, (group = []));
    group.push({ item, index });
  });
  return groups;
}
