/**
 * How the redis:// store lays out an application's data: key names, and a task as a Redis hash.
 *
 * A task is a hash with one field per wire key, each value JSON-encoded on its own; a missing field
 * is null or its default (a new task is stored without its id, null and default fields, and reads
 * its time_queued from `_tq`: see DEFAULTS). Lua scripts can
 * then change `status`, `retries` or `result` without decoding the whole task: Redis's Lua cjson
 * re-encodes numbers with 14 significant digits, which would silently round user kwargs and results.
 * Fields starting with `_` belong to the store (queue place, listing score, the delivery whose
 * finish was saved, progress: listed in lua/_lib.lua) and are not wire keys. Reading a task back:
 * redis-decode.ts.
 */
import type { TaskEvent } from '../../store/contract.js';
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
 * A task's values in WIRE_KEYS order, read by name: a loop over WIRE_KEYS reads each field by a
 * key that changes at every step, the slow lookup of a property by its name (a spec checks the order).
 */
export function wireValues(t: WireTask): unknown[] {
  return [
    t.id, t.name, t.status, t.kwargs, t.result, t.stacktrace, t.time_queued, t.time_started, t.time_ended,
    t.expiry, t.lock_id, t.from_task, t.worker, t.retries, t.meta, t.priority, t.eta, t.max_retries,
    t.retry_delay, t.timeout, t.redeliveries,
  ];
}

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
  /**
   * Routing key of the delivery scripts. Older versions leased each pulled task here (score its
   * deadline in ms, store clock, member id): recover still recovers those.
   */
  readonly inflight: string;
  /** Workers holding tasks: score the end of the worker's lease in ms (store clock), which every task it holds shares. */
  readonly leases: string;
  /** Workers holding tasks: worker → how many (its entries in `fence`); at 0, an ended lease is dropped without reading `fence`. */
  readonly held: string;
  /** Tasks in flight: id → `worker:token`, their current delivery (what every write is fenced by). */
  readonly fence: string;
  /** Counter minting the fencing tokens of the app's deliveries. */
  readonly tokens: string;
  /** Non-overlap locks: lock id → id of the task holding it. */
  readonly locks: string;
  /** Counter giving queue members their FIFO order. */
  readonly seq: string;
  /**
   * Routing key of `list` and `purge` only. Older versions also indexed every task here; the
   * listing of every task now merges the per-status listings (each task is under its one status).
   */
  readonly all: string;
  /** Last run time (ms) of each periodic job. */
  readonly lastRuns: string;
  /** Tokens that wake pulls blocked on BLPOP when tasks are queued (workers not parked: _lib.lua). */
  readonly wakeup: string;
  /** Workers parked on BLPOP, scored by when their parking lapses (store ms; _lib.lua: wake). */
  readonly parked: string;

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
    this.leases = `${this.prefix}leases`;
    this.held = `${this.prefix}held`;
    this.fence = `${this.prefix}fence`;
    this.tokens = `${this.prefix}tokens`;
    this.locks = `${this.prefix}locks`;
    this.seq = `${this.prefix}seq`;
    this.all = `${this.prefix}all`;
    this.lastRuns = `${this.prefix}lastruns`;
    this.wakeup = `${this.prefix}wakeup`;
    this.parked = `${this.prefix}parked`;
  }

  /** The hash of one task. */
  taskKey(id: string): string {
    return this.task + id;
  }

  /** Present (for a moment) while `worker` is interrupted: its pulls take nothing. */
  halt(worker: string): string {
    return `${this.prefix}halt:${worker}`;
  }

  /** A token here wakes the pull of `worker` parked on BLPOP: tasks were queued (_lib.lua: wake). */
  nudge(worker: string): string {
    return `${this.prefix}nudge:${worker}`;
  }

  /** A token here ends a pull of `worker` blocked on BLPOP (TaskStore.interrupt). */
  wake(worker: string): string {
    return `${this.prefix}wake:${worker}`;
  }

  /**
   * Tasks of one status, scored by time queued (the listing score `_tq`): queued, retry and started
   * ones. Ready tasks are in buckets (readyIndex); older versions listed them here too.
   */
  byStatus(status: number): string {
    return `${this.prefix}s:${status}`;
  }

  /**
   * The buckets listing the tasks of a ready status (1, 2 or 3): member a bucket's number, scored by
   * the lowest listing score it holds (lua/_ready.lua).
   */
  readyIndex(status: number): string {
    return `${this.prefix}rx:${status}`;
  }

  /**
   * One bucket of a ready status's listing: a small list of at most 128 entries `<offset>:<id>`,
   * the offset the task's time queued less the bucket's base (lua/_ready.lua).
   */
  readyBucket(status: number, n: number | string): string {
    return `${this.prefix}r:${status}:${n}`;
  }

  /**
   * Entries of a ready status's listing not yet in its buckets: a list of `<score>:<id>`, moved into
   * them 128 at a time, and by every listing and purge (lua/_ready.lua).
   */
  readyPending(status: number): string {
    return `${this.prefix}rp:${status}`;
  }

  /** Tasks of one job, scored by time queued (ms). */
  byName(name: string): string {
    return `${this.prefix}n:${name}`;
  }

  /**
   * Ready tasks of one status (1, 2 or 3) in the order they ended: a list of ids, each script run's
   * after a marker ` <end ms>` (ms of the store clock), what purge walks from its head. Older
   * versions pushed `<end ms>:<id>` entries, and before them kept `ended:<code>` zsets.
   */
  ended(status: number): string {
    return `${this.prefix}ends:${status}`;
  }

  /** The id a caller-supplied idempotency key stands for, while remembered. */
  idempotency(key: string): string {
    return `${this.prefix}idem:${key}`;
  }

  /** The pub/sub channel of an event (namespaced like the keys). */
  channel(event: TaskEvent): string {
    return this.prefix + event;
  }

  /**
   * Beside `task_done`: a small finish batch publishes here first, per task, `<id> <its hash as a
   * JSON array of fields and values>`, so that a waiter resolves from the broadcast (redis-events.ts).
   */
  get doneTasks(): string {
    return `${this.prefix}task_done:tasks`;
  }

  /** A SCAN MATCH pattern for every key of the app, glob characters of the prefix escaped. */
  get pattern(): string {
    return this.prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`) + '*';
  }
}

/**
 * What a hash field that is not stored stands for (JSON): a new task is stored without its id (the
 * key names it), its null fields and those still at their default, and its time_queued is read
 * from its listing score `_tq` (listingMs). About half of a task's fields are left out that way.
 */
export const DEFAULTS: Readonly<Record<string, string>> = {
  retries: '0',
  priority: '0',
  max_retries: '0',
  retry_delay: '0',
  redeliveries: '0',
  meta: '{}',
  kwargs: '{}',
};

/** The default of each wire key (DEFAULTS), in WIRE_KEYS order: undefined where it has none. */
const DEFAULT_AT: readonly (string | undefined)[] = WIRE_KEYS.map((key) => DEFAULTS[key]);

/**
 * A new task as hash field/value pairs, every value JSON, without the fields `skip` names (the
 * queue script writes them), its id, and the fields that are null or at their default (DEFAULTS):
 * a missing field reads as null or its default (decodeTask). The values are read by wireValues and
 * each key's default by its index: a loop reading `task[key]` and `DEFAULTS[key]` by a key that
 * changes at every step took 0.49–0.57 µs a task once optimized against 0.30–0.35, and was
 * optimized later (5000-task batches: 1.1–1.2 µs in the fourth against 0.33–0.35).
 */
export function encodeNewTask(task: WireTask, skip: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const values = wireValues(task);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null || value === undefined) continue;
    const key = WIRE_KEYS[i] as string;
    if (key === 'id' || skip.has(key)) continue;
    const fallback = DEFAULT_AT[i];
    // At its default, known without encoding it: 0 (most numbers), an empty plain object (meta).
    if (fallback !== undefined && (value === 0 ? fallback === '0' : fallback === '{}' && isEmptyPlainObject(value))) continue;
    const json = JSON.stringify(value);
    if (json !== fallback) out.push(key, json);
  }
  return out;
}

/** True for `{}` (a plain object without keys: its JSON is `{}`). */
function isEmptyPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const _ in value) return false;
  return true;
}

/** Milliseconds as the JSON seconds of a wire time field. */
export function secondsJson(ms: number): string {
  return JSON.stringify(ms / 1000);
}

/**
 * The store ms of a listing score (`_tq`): ms times 1000 plus the last 3 digits of a sequence (an
 * integer: a small zset keeps it as one), or, stored by older versions (below 1e14), ms with the
 * sequence in the fraction. As `tq_ms` in lua/_lib.lua.
 */
export function listingMs(score: number): number {
  return score >= 1e14 ? Math.floor(score / 1000) : Math.floor(score);
}
