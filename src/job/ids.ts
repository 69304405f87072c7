/**
 * Task ids and non-overlap lock ids (SPEC §5).
 */
import { createHash, randomFillSync } from 'node:crypto';
import type { Job } from './job.js';
import type { Json, JsonObject } from '../model/json.js';

/** Random bytes for ids, drawn from the CSPRNG 256 ids at a time (as randomUUID caches its own). */
const POOL_IDS = 256;
const pool = Buffer.alloc(16 * POOL_IDS);
let poolAt = pool.length;

/**
 * A new unique task id: 32 hex characters, a random (version 4) UUID without its dashes. Made as
 * one flat string: `randomUUID().replace(...)` left a rope of several strings per id, which every
 * stored task kept.
 */
export function newTaskId(): string {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += 16;
  pool[at + 6] = ((pool[at + 6] as number) & 0x0f) | 0x40;
  pool[at + 8] = ((pool[at + 8] as number) & 0x3f) | 0x80;
  return pool.toString('hex', at, at + 16);
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
