/**
 * Wire tasks as positional arrays on a worker child's IPC channel (local://).
 *
 * A task crosses the channel three times a run: delivered by a pull, then in its start and its
 * outcome. As an object every one of its 21 field names is written, read and looked up again each
 * time; as an array in a fixed field order only the values cross, and the receiving side rebuilds
 * the object from one literal (one hidden class for every task). Measured (micro-benchmark, the
 * start calls of one real batch, JSON): a record parses and is rebuilt in ~0.95 µs instead of
 * ~1.4 µs, and is written in the same time; the payload halves (392 → 194 bytes a record).
 *
 * Lossless or not at all: a record with any other set of fields, or an undefined value (JSON would
 * turn it into null), crosses as the object it is. The packed form is self-describing (a wire
 * task is never an array), so either side accepts both forms.
 */
import type { WireTask } from '../src/model/task.js';
import type { Delivery } from '../src/store/contract.js';

/** The fields of a wire task, in the order of its packed form. */
export const PACKED_FIELDS = [
  'id', 'name', 'status', 'kwargs', 'result', 'stacktrace', 'time_queued', 'time_started', 'time_ended', 'expiry',
  'lock_id', 'from_task', 'worker', 'retries', 'meta', 'priority', 'eta', 'max_retries', 'retry_delay', 'timeout',
  'redeliveries',
] as const satisfies readonly (keyof WireTask)[];

/** Every field of WireTask is in PACKED_FIELDS (a type error here otherwise). */
const COVERS_WIRE_TASK: Exclude<keyof WireTask, (typeof PACKED_FIELDS)[number]> extends never ? true : never = true;
void COVERS_WIRE_TASK;

/** A wire task as the values of PACKED_FIELDS, in that order. */
export type PackedTask = WireTask[(typeof PACKED_FIELDS)[number]][];

/**
 * `task` as a packed array, or as it is when packing would lose anything. It runs three times a
 * task (a pull's answer, start, outcome), so it allocates nothing but the array: its own fields
 * are counted by for-in (Object.keys made an array of 21 keys a call, ~5 % of what a worker child
 * allocated), and the array is one literal of its final length (pushes grew it three times).
 */
export function packTask(task: WireTask): WireTask | PackedTask {
  // A plain object's for-in visits its own enumerable fields (anything else crosses as it is).
  if (Object.getPrototypeOf(task) !== Object.prototype) return task;
  let fields = 0;
  for (const field in task) {
    void field;
    fields += 1;
  }
  if (fields !== PACKED_FIELDS.length) return task;
  const packed: PackedTask = [
    task.id, task.name, task.status, task.kwargs, task.result, task.stacktrace, task.time_queued, task.time_started,
    task.time_ended, task.expiry, task.lock_id, task.from_task, task.worker, task.retries, task.meta, task.priority,
    task.eta, task.max_retries, task.retry_delay, task.timeout, task.redeliveries,
  ];
  for (let i = 0; i < packed.length; i += 1) if (packed[i] === undefined) return task;
  return packed;
}

/** A task in either form, as a WireTask. */
export function unpackTask(task: WireTask | PackedTask): WireTask {
  if (!Array.isArray(task)) return task;
  const p = task as unknown[];
  return {
    id: p[0] as WireTask['id'],
    name: p[1] as WireTask['name'],
    status: p[2] as WireTask['status'],
    kwargs: p[3] as WireTask['kwargs'],
    result: p[4] as WireTask['result'],
    stacktrace: p[5] as WireTask['stacktrace'],
    time_queued: p[6] as WireTask['time_queued'],
    time_started: p[7] as WireTask['time_started'],
    time_ended: p[8] as WireTask['time_ended'],
    expiry: p[9] as WireTask['expiry'],
    lock_id: p[10] as WireTask['lock_id'],
    from_task: p[11] as WireTask['from_task'],
    worker: p[12] as WireTask['worker'],
    retries: p[13] as WireTask['retries'],
    meta: p[14] as WireTask['meta'],
    priority: p[15] as WireTask['priority'],
    eta: p[16] as WireTask['eta'],
    max_retries: p[17] as WireTask['max_retries'],
    retry_delay: p[18] as WireTask['retry_delay'],
    timeout: p[19] as WireTask['timeout'],
    redeliveries: p[20] as WireTask['redeliveries'],
  };
}

/** The store methods whose first argument is one wire task. */
const TASK_FIRST: ReadonlySet<string> = new Set(['start', 'finish', 'retry']);

/** A call's arguments as they cross: the task of start, finish and retry packed. */
export function packArgs(method: string, args: unknown[]): unknown[] {
  if (!TASK_FIRST.has(method) || args.length === 0 || typeof args[0] !== 'object' || args[0] === null) return args;
  const packed = packTask(args[0] as WireTask);
  if (packed === args[0]) return args;
  const sent = args.slice();
  sent[0] = packed;
  return sent;
}

/** A call's arguments as they arrived, with a packed task rebuilt (the array is reused). */
export function unpackArgs(method: string, args: unknown[]): unknown[] {
  if (TASK_FIRST.has(method) && Array.isArray(args[0])) args[0] = unpackTask(args[0] as PackedTask);
  return args;
}

/** A delivery whose task may be packed. */
export interface PackedDelivery {
  task: WireTask | PackedTask;
  token: number;
}

/** A pull's answer as it crosses: each task packed. */
export function packDeliveries(deliveries: Delivery[]): PackedDelivery[] {
  return deliveries.map((d) => ({ task: packTask(d.task), token: d.token }));
}

/** A pull's answer as it arrived, with its tasks rebuilt (the array is reused). */
export function unpackDeliveries(deliveries: PackedDelivery[]): Delivery[] {
  for (const d of deliveries) if (Array.isArray(d.task)) d.task = unpackTask(d.task);
  return deliveries as Delivery[];
}
