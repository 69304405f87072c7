/**
 * The kept form of an ended task: one string per task instead of its record and the objects it
 * holds (kwargs, meta, result, boxed times). A MemoryStore keeps ended tasks for `resultTtl`, so
 * their size is what a finished task costs in memory; the string holds everything but the id,
 * name and status (which its entry keeps), as JSON, with trailing fields at their defaults left out.
 */
import type { JsonObject } from '../../model/json.js';
import type { TaskStatus } from '../../model/states.js';
import type { WireTask } from '../../model/task.js';

/**
 * The fields of the packed form, in order: the ones every ended task has first. A start or end
 * time that is whole milliseconds after time_queued is kept as that count (a short integer);
 * any other as the text of the number.
 */
type Packed = [
  kwargs: WireTask['kwargs'],
  result: WireTask['result'],
  time_queued: number,
  time_started: number | string | null,
  time_ended: number | string | null,
  worker: string | null,
  stacktrace?: string | null,
  expiry?: number | null,
  lock_id?: string | null,
  from_task?: string | null,
  retries?: number,
  meta?: JsonObject,
  priority?: number,
  eta?: number | null,
  max_retries?: number,
  retry_delay?: number,
  timeout?: number | null,
  redeliveries?: number,
];

/** The fields every ended task has, before the optional ones. */
const FIXED = 6;
/** The optional fields' defaults (what a missing trailing field means), from FIXED on. */
const DEFAULTS: readonly unknown[] = [null, null, null, null, 0, undefined, 0, null, 0, 0, null, 0];
const META_AT = FIXED + 5;

function isDefault(value: unknown, at: number): boolean {
  if (at === META_AT) {
    // meta: an empty object is its default.
    for (const _ in value as JsonObject) return false;
    return true;
  }
  return value === DEFAULTS[at - FIXED];
}

/** A time after time_queued (`queuedMs`), as kept: whole ms after it when exact, else the number's text. */
function since(time: number | null, queuedMs: number): number | string | null {
  if (time === null) return null;
  const ms = Math.round((time - queuedMs / 1000) * 1000);
  return (queuedMs + ms) / 1000 === time && Number.isSafeInteger(ms) ? ms : String(time);
}

function timeOf(kept: number | string | null, queuedMs: number): number | null {
  return kept === null ? null : typeof kept === 'string' ? Number(kept) : (queuedMs + kept) / 1000;
}

/**
 * The packed form of an ended task (its id, name and status are not in it): one array, one
 * JSON.stringify (text joined with `+` was a rope of a dozen parts, and a stringify call per field).
 */
export function packEnded(t: WireTask): string {
  const queuedMs = Math.round(t.time_queued * 1000);
  const packed: unknown[] = [
    t.kwargs, t.result, t.time_queued, since(t.time_started, queuedMs), since(t.time_ended, queuedMs), t.worker,
    t.stacktrace, t.expiry, t.lock_id, t.from_task, t.retries, t.meta, t.priority, t.eta, t.max_retries, t.retry_delay, t.timeout, t.redeliveries,
  ];
  let end = packed.length;
  while (end > FIXED && isDefault(packed[end - 1], end - 1)) end--;
  packed.length = end;
  const text = JSON.stringify(packed);
  // A longer text comes out of stringify as a rope of its chunks: reading a character flattens it
  // into one string, which is then all that is kept (the rope costs about 60 bytes more per task).
  text.charCodeAt(0);
  return text;
}

/** A fresh record of an ended task from its packed form. */
export function unpackEnded(id: string, name: string, status: TaskStatus, packed: string): WireTask {
  const f = JSON.parse(packed) as Packed;
  const queuedMs = Math.round(f[2] * 1000);
  return {
    id,
    name,
    status,
    kwargs: f[0],
    result: f[1],
    stacktrace: f[6] ?? null,
    time_queued: f[2],
    time_started: timeOf(f[3], queuedMs),
    time_ended: timeOf(f[4], queuedMs),
    expiry: f[7] ?? null,
    lock_id: f[8] ?? null,
    from_task: f[9] ?? null,
    worker: f[5],
    retries: f[10] ?? 0,
    meta: f[11] ?? {},
    priority: f[12] ?? 0,
    eta: f[13] ?? null,
    max_retries: f[14] ?? 0,
    retry_delay: f[15] ?? 0,
    timeout: f[16] ?? null,
    redeliveries: f[17] ?? 0,
  };
}
