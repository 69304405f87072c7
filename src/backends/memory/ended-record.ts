/**
 * The kept form of an ended task: one string per task instead of its record and the objects it
 * holds (kwargs, meta, result, boxed times). A MemoryStore keeps ended tasks for `resultTtl`, so
 * their size is what a finished task costs in memory; the string holds everything but the id,
 * name and status (which its entry keeps), as JSON, with trailing fields at their defaults left out.
 */
import type { JsonObject } from '../../model/json.js';
import type { TaskStatus } from '../../model/states.js';
import type { WireTask } from '../../model/task.js';

/** The fields of the packed form, in order: the ones every ended task has first. */
type Packed = [
  kwargs: WireTask['kwargs'],
  result: WireTask['result'],
  time_queued: number,
  time_started: number | null,
  time_ended: number | null,
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

/** Where the optional fields start, and their defaults (what a missing trailing field means). */
const FIRST_OPTIONAL = 6;
const DEFAULTS: readonly unknown[] = [null, null, null, null, 0, undefined, 0, null, 0, 0, null, 0];

function isDefault(value: unknown, at: number): boolean {
  if (at === FIRST_OPTIONAL + 5) {
    // meta: an empty object is its default.
    for (const _ in value as JsonObject) return false;
    return true;
  }
  return value === DEFAULTS[at - FIRST_OPTIONAL];
}

/** The packed form of an ended task (its id, name and status are not in it). */
export function packEnded(t: WireTask): string {
  const fields: unknown[] = [
    t.kwargs, t.result, t.time_queued, t.time_started, t.time_ended, t.worker,
    t.stacktrace, t.expiry, t.lock_id, t.from_task, t.retries, t.meta, t.priority, t.eta, t.max_retries, t.retry_delay, t.timeout, t.redeliveries,
  ];
  let end = fields.length;
  while (end > FIRST_OPTIONAL && isDefault(fields[end - 1], end - 1)) end--;
  fields.length = end;
  const packed = JSON.stringify(fields);
  // JSON.stringify builds a longer text as a rope of parts (the first of 32 characters): reading
  // a character flattens it into one string, which is then all that is kept (about 50 bytes less).
  packed.charCodeAt(packed.length - 1);
  return packed;
}

/** A fresh record of an ended task from its packed form. */
export function unpackEnded(id: string, name: string, status: TaskStatus, packed: string): WireTask {
  const f = JSON.parse(packed) as Packed;
  return {
    id,
    name,
    status,
    kwargs: f[0],
    result: f[1],
    stacktrace: f[6] ?? null,
    time_queued: f[2],
    time_started: f[3],
    time_ended: f[4],
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
