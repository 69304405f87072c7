/**
 * Reading a redis:// task back: a task from its hash as stored (redis-codec.ts lays it out), with
 * what is stored of each field, so that a worker's writes send only the fields that changed.
 */
import type { Json, JsonObject } from '../../model/json.js';
import { isTaskStatus, QUEUED } from '../../model/states.js';
import type { WireTask } from '../../model/task.js';
import { DEFAULTS, listingMs, WIRE_KEYS, wireValues } from './redis-codec.js';

/** A task decoded from its hash, with each wire key's value and stored JSON in WIRE_KEYS order. */
export interface StoredTask {
  task: WireTask;
  values: unknown[];
  encoded: string[];
  /** Its listing score as stored (`_tq`, text), when it has one. */
  listed: string | undefined;
}

const KEY_INDEX = new Map<string, number>(WIRE_KEYS.map((key, i) => [key, i]));
/** What each wire key stands for when not stored (in WIRE_KEYS order): its default, else null. */
const UNSTORED = WIRE_KEYS.map((key) => DEFAULTS[key] ?? 'null');
/** Index of each wire key in WIRE_KEYS. */
const I = Object.fromEntries(WIRE_KEYS.map((key, i) => [key, i])) as Record<(typeof WIRE_KEYS)[number], number>;
const TIME_QUEUED = I.time_queued;
const META = I.meta;

/**
 * A task from the flat `HGETALL` reply of its hash (`id` from its key: older versions also stored
 * it), with what is stored of each field; null for an empty (missing) hash.
 */
export function decodeStored(flat: unknown, id: string): StoredTask | null {
  if (!Array.isArray(flat) || flat.length === 0) return null;
  const encoded: (string | undefined)[] = new Array(WIRE_KEYS.length);
  let tq: string | undefined;
  let progress: string | undefined;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = String(flat[i]);
    const k = KEY_INDEX.get(field);
    if (k !== undefined) encoded[k] = String(flat[i + 1]);
    else if (field === '_tq') tq = String(flat[i + 1]);
    else if (field === '_progress') progress = String(flat[i + 1]);
  }
  const values: unknown[] = new Array(WIRE_KEYS.length);
  // Time queued: the store ms of the listing score (a number: no JSON to parse).
  if (encoded[TIME_QUEUED] === undefined && tq !== undefined) {
    const seconds = listingMs(Number(tq)) / 1000;
    encoded[TIME_QUEUED] = JSON.stringify(seconds);
    values[TIME_QUEUED] = seconds;
  }
  for (let k = 0; k < WIRE_KEYS.length; k++) {
    if (values[k] !== undefined) continue;
    const raw = encoded[k] ?? (UNSTORED[k] as string);
    encoded[k] = raw;
    // The common stored forms without a parse: null, 0, an empty object (a new one per task).
    values[k] = raw === 'null' ? null : raw === '0' ? 0 : raw === '{}' ? {} : (JSON.parse(raw) as Json);
  }
  const meta = obj(values[META]);
  if (progress !== undefined) {
    meta.progress = JSON.parse(progress) as Json;
    // What a write compares with: the meta a decoded task carries.
    encoded[META] = JSON.stringify(meta);
  }
  const v = values;
  const status = v[I.status];
  const task: WireTask = {
    id,
    name: str(v[I.name]) ?? '',
    status: isTaskStatus(status) ? status : QUEUED,
    kwargs: obj(v[I.kwargs]),
    result: (v[I.result] ?? null) as Json,
    stacktrace: str(v[I.stacktrace]),
    time_queued: num(v[I.time_queued]) ?? 0,
    time_started: num(v[I.time_started]),
    time_ended: num(v[I.time_ended]),
    expiry: num(v[I.expiry]),
    lock_id: str(v[I.lock_id]),
    from_task: str(v[I.from_task]),
    worker: str(v[I.worker]),
    retries: num(v[I.retries]) ?? 0,
    meta,
    priority: num(v[I.priority]) ?? 0,
    eta: num(v[I.eta]),
    max_retries: num(v[I.max_retries]) ?? 0,
    retry_delay: num(v[I.retry_delay]) ?? 0,
    timeout: num(v[I.timeout]),
    redeliveries: num(v[I.redeliveries]) ?? 0,
  };
  // The values a write compares with by identity: the task's own (objects included).
  return { task, values: wireValues(task), encoded: encoded as string[], listed: tq };
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

function obj(v: unknown): JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : {};
}

/** A task from the flat `HGETALL` reply of its hash; null for an empty (missing) hash. */
export function decodeTask(flat: unknown, id: string): WireTask | null {
  return decodeStored(flat, id)?.task ?? null;
}
