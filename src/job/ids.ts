/**
 * Task ids and non-overlap lock ids (SPEC §5).
 */
import { createHash, randomFillSync } from 'node:crypto';
import type { Job } from './job.js';
import type { Json, JsonObject } from '../model/json.js';

/** Length of a task id, and its alphabet: 16 base62 characters hold 95 random bits. */
export const TASK_ID_LENGTH = 16;
export const TASK_ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Ids made 256 at a time, their characters in one buffer, from one draw of the CSPRNG. */
const POOL_IDS = 256;
const pool = Buffer.alloc(TASK_ID_LENGTH * POOL_IDS);
const random = Buffer.alloc(pool.length);
let poolAt = pool.length;

/** Fills the pool with random base62 characters: a random byte below 248 (4 × 62) gives one, unbiased. */
function refill(): void {
  let at = 0;
  while (at < pool.length) {
    randomFillSync(random);
    for (let i = 0; i < random.length && at < pool.length; i++) {
      const byte = random[i] as number;
      if (byte < 248) pool[at++] = TASK_ID_ALPHABET.charCodeAt(byte % 62);
    }
  }
  poolAt = 0;
}

/**
 * A new unique task id: 16 random base62 characters (`[0-9A-Za-z]`, 95 bits; a task's id is in its
 * Redis key, its listing and its ended entry, so each character counts in memory per stored
 * task). Made as one flat string, sliced from the pool.
 */
export function newTaskId(): string {
  if (poolAt === pool.length) refill();
  const at = poolAt;
  poolAt += TASK_ID_LENGTH;
  return pool.toString('latin1', at, poolAt);
}

/**
 * `[id, lockId]`: a fresh id, and when the job may not overlap for these kwargs, the sha1 hex of
 * `name` or `name k1=v1, k2=v2` (keys sorted, values as JSON); else null.
 */
export function generateTaskIds(job: Job, kwargs: JsonObject = {}): [string, string | null] {
  const id = newTaskId();
  if (job.overlaps(kwargs)) return [id, null];
  const keys = Object.keys(kwargs).sort();
  const text = keys.length ? `${job.name} ${keys.map((k) => `${k}=${canonicalJson(kwargs[k])}`).join(', ')}` : job.name;
  return [id, createHash('sha1').update(text, 'utf8').digest('hex')];
}

/** JSON with the keys of every object sorted: equal kwargs give one lock id whatever their key order. */
function canonicalJson(value: Json | undefined): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
