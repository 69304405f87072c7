/**
 * How the redis:// store lays out an application's data: key names, and a task as a Redis hash.
 *
 * A task is a hash with one field per wire key, each value JSON-encoded on its own; a missing field
 * is null (a new task is stored without its null fields). Lua scripts can
 * then change `status`, `retries` or `result` without decoding the whole task: Redis's Lua cjson
 * re-encodes numbers with 14 significant digits, which would silently round user kwargs and results.
 * Fields starting with `_` belong to the store (queue place, listing score, the delivery whose
 * finish was saved, progress: listed in lua/_lib.lua) and are not wire keys.
 */
import type { Json, JsonObject } from '../../model/json.js';
import type { TaskEvent } from '../../store/contract.js';
import { isTaskStatus, QUEUED } from '../../model/states.js';
import type { WireTask } from '../../model/task.js';

/** Every wire key of a task, in the order they are written. */
export const WIRE_KEYS = [
  'id', 'name', 'status', 'kwargs', 'result', 'stacktrace', 'time_queued', 'time_started', 'time_ended',
  'expiry', 'lock_id', 'from_task', 'worker', 'retries', 'meta', 'priority', 'eta', 'max_retries',
  'retry_delay', 'timeout', 'redeliveries',
] as const satisfies readonly (keyof WireTask)[];

// Fails to compile when WireTask gains a key that WIRE_KEYS does not list.
type MissingWireKeys = Exclude<keyof WireTask, (typeof WIRE_KEYS)[number]>;
const _allWireKeys: MissingWireKeys extends never ? true : MissingWireKeys = true;

/**
 * The keys and channels of one application: `<namespace>:{<name>}:<suffix>`. The Lua scripts
 * derive the same names from the prefix (lua/_lib.lua); this class names them for the client.
 */
export class RedisKeys {
  /** `<namespace>:{<name>}:`: the hash tag puts every key of the app in one Cluster slot. */
  readonly prefix: string;
  /** Prefix of task hashes; a task's key is this plus its id. */
  readonly task: string;
  /** Ready tasks: score -priority, member `<16-digit sequence>:<id>` (FIFO within a priority). */
  readonly queue: string;
  /** Tasks waiting for their eta: score eta in ms (store clock), member id. */
  readonly delayed: string;
  /** Pulled tasks: score lease deadline in ms (store clock), member id. */
  readonly inflight: string;
  /** Tasks in flight: id → `worker:token`, their current delivery (what every write is fenced by). */
  readonly fence: string;
  /** Counter minting the fencing tokens of the app's deliveries. */
  readonly tokens: string;
  /** Non-overlap locks: lock id → id of the task holding it. */
  readonly locks: string;
  /** Counter giving queue members their FIFO order. */
  readonly seq: string;
  /** Every task id, scored by time queued in ms: what `list` reads when nothing narrows it. */
  readonly all: string;
  /** Last run time (ms) of each periodic job. */
  readonly lastRuns: string;
  /** Tokens that wake pulls blocked on BLPOP when tasks are queued. */
  readonly wakeup: string;

  /** `tag`: the hash tag's text, the app's name unless a shard of it (`<name>:<i>`, redis-shards.ts). */
  constructor(
    readonly namespace: string,
    readonly name: string,
    readonly tag = name,
  ) {
    this.prefix = `${namespace}:{${tag}}:`;
    this.task = `${this.prefix}t:`;
    this.queue = `${this.prefix}queue`;
    this.delayed = `${this.prefix}delayed`;
    this.inflight = `${this.prefix}inflight`;
    this.fence = `${this.prefix}fence`;
    this.tokens = `${this.prefix}tokens`;
    this.locks = `${this.prefix}locks`;
    this.seq = `${this.prefix}seq`;
    this.all = `${this.prefix}all`;
    this.lastRuns = `${this.prefix}lastruns`;
    this.wakeup = `${this.prefix}wakeup`;
  }

  /** The hash of one task. */
  taskKey(id: string): string {
    return this.task + id;
  }

  /** The ids a worker holds in flight (set): recover, release and resync read only this. */
  owned(worker: string): string {
    return `${this.prefix}owned:${worker}`;
  }

  /** Present (for a moment) while `worker` is interrupted: its pulls take nothing. */
  halt(worker: string): string {
    return `${this.prefix}halt:${worker}`;
  }

  /** A token here ends a pull of `worker` blocked on BLPOP (TaskStore.interrupt). */
  wake(worker: string): string {
    return `${this.prefix}wake:${worker}`;
  }

  /** Tasks of one status, scored by time queued (ms). */
  byStatus(status: number): string {
    return `${this.prefix}s:${status}`;
  }

  /** Tasks of one job, scored by time queued (ms). */
  byName(name: string): string {
    return `${this.prefix}n:${name}`;
  }

  /** Ready tasks of one status (1, 2 or 3), scored by time ended (ms, store clock): what purge walks. */
  ended(status: number): string {
    return `${this.prefix}ended:${status}`;
  }

  /** The id a caller-supplied idempotency key stands for, while remembered. */
  idempotency(key: string): string {
    return `${this.prefix}idem:${key}`;
  }

  /** The pub/sub channel of an event (namespaced like the keys). */
  channel(event: TaskEvent): string {
    return this.prefix + event;
  }

  /** A SCAN MATCH pattern for every key of the app, glob characters of the prefix escaped. */
  get pattern(): string {
    return this.prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`) + '*';
  }
}

/**
 * A new task as hash field/value pairs, every value JSON, without the fields `skip` names (the
 * queue script writes them) nor those that are null: a missing field reads as null (decodeTask),
 * and half the fields of a new task are.
 */
export function encodeNewTask(task: WireTask, skip: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const key of WIRE_KEYS) {
    const value = task[key];
    if (value !== null && value !== undefined && !skip.has(key)) out.push(key, JSON.stringify(value));
  }
  return out;
}

/** The JSON value of each wire key of a task, in WIRE_KEYS order. */
export function encodeValues(task: WireTask): string[] {
  return WIRE_KEYS.map((key) => JSON.stringify(task[key] ?? null));
}

/** Milliseconds as the JSON seconds of a wire time field. */
export function secondsJson(ms: number): string {
  return JSON.stringify(ms / 1000);
}

/** A task from the flat `HGETALL` reply of its hash; null for an empty (missing) hash. */
export function decodeTask(flat: unknown): WireTask | null {
  if (!Array.isArray(flat) || flat.length === 0) return null;
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), String(flat[i + 1]));
  const read = (key: string): Json | undefined => {
    const raw = fields.get(key);
    return raw === undefined ? undefined : (JSON.parse(raw) as Json);
  };
  const str = (key: string): string | null => {
    const v = read(key);
    return typeof v === 'string' ? v : null;
  };
  const num = (key: string): number | null => {
    const v = read(key);
    return typeof v === 'number' ? v : null;
  };
  const obj = (key: string): JsonObject => {
    const v = read(key);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {};
  };
  const status = read('status');
  const meta = obj('meta');
  const progress = read('_progress');
  if (progress !== undefined) meta.progress = progress;
  return {
    id: str('id') ?? '',
    name: str('name') ?? '',
    status: isTaskStatus(status) ? status : QUEUED,
    kwargs: obj('kwargs'),
    result: read('result') ?? null,
    stacktrace: str('stacktrace'),
    time_queued: num('time_queued') ?? 0,
    time_started: num('time_started'),
    time_ended: num('time_ended'),
    expiry: num('expiry'),
    lock_id: str('lock_id'),
    from_task: str('from_task'),
    worker: str('worker'),
    retries: num('retries') ?? 0,
    meta,
    priority: num('priority') ?? 0,
    eta: num('eta'),
    max_retries: num('max_retries') ?? 0,
    retry_delay: num('retry_delay') ?? 0,
    timeout: num('timeout'),
    redeliveries: num('redeliveries') ?? 0,
  };
}
