/**
 * Where the tasks of a sharded queue live. Shard `i` of app `name` has its own hash tag
 * (`{name:i}`, or `{name:i.n}`, see shardTag); a task lives on the shard its id hashes to (FNV-1a, 32 bits, modulo K), so any
 * id-addressed call (get, revoke, progress, start, finish, …) finds the shard from the id alone.
 *
 * A task with a non-overlap lock id (or else an idempotency key) must live on the shard of that
 * key, so that the check stays one atomic script: when its id hashes elsewhere, it is given a new
 * id that hashes there (its last 8 characters re-derived deterministically from the id, so a
 * resent batch gets the same ids). `queue` answers the ids it stored, as the store contract says.
 */
import { TASK_ID_ALPHABET, TASK_ID_LENGTH } from '../../job/ids.js';
import type { WireTask } from '../../model/task.js';

/** Redis Cluster's slots. */
const SLOTS = 16384;

/** CRC16 (XMODEM), what Redis Cluster hashes a key's tag with, of the UTF-8 bytes of `text`. */
export function crc16(text: string): number {
  let crc = 0;
  for (const byte of Buffer.from(text, 'utf8')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The Cluster slot of a hash tag's text. */
export function slotOf(tag: string): number {
  return crc16(tag) % SLOTS;
}

/**
 * The hash tag's text of shard `i` of `k` of app `name`: `name:i`, or `name:i.n` with the smallest
 * n that puts it in the middle half of the i-th of k equal slot ranges. A cluster whose masters
 * hold equal ranges of slots (what `redis-cli --cluster create` makes) then holds k/masters shards
 * on each master, when the number of masters divides k. One shard: the name itself (today's tag).
 */
export function shardTag(name: string, i: number, k: number): string {
  if (k === 1) return name;
  const width = SLOTS / k;
  const lo = i * width + width / 4;
  const hi = (i + 1) * width - width / 4;
  for (let n = 0; n < 100_000; n++) {
    const tag = n === 0 ? `${name}:${i}` : `${name}:${i}.${n}`;
    const slot = slotOf(tag);
    if (slot >= lo && slot < hi) return tag;
  }
  return `${name}:${i}`;
}

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

/** A task id as newTaskId makes them: 16 base62 characters. */
const OWN_ID = new RegExp(`^[0-9A-Za-z]{${TASK_ID_LENGTH}}$`);

/** 32 bits as 6 base62 characters. */
function base62(n: number): string {
  let out = '';
  for (let i = 0; i < 6; i++) {
    out += TASK_ID_ALPHABET[n % 62];
    n = Math.floor(n / 62);
  }
  return out;
}

/**
 * An id like `id` that hashes to `shard`: an id of the form newTaskId makes keeps its first 10
 * characters and its length (6 base62 characters replace the rest), any other gets a `.xxxxxxxx`
 * suffix (8 hex characters); those characters come from hashing the id with a counter.
 */
export function idOnShard(id: string, shard: number, k: number): string {
  const own = OWN_ID.test(id);
  for (let n = 0; ; n++) {
    const hash = fnv1a(`${id}#${n}`);
    const candidate = own ? id.slice(0, 10) + base62(hash) : `${id}.${hash.toString(16).padStart(8, '0')}`;
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
