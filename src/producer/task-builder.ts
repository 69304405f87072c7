/**
 * Building a task from `queueTask`'s arguments: every check happens here, before anything is
 * stored (unknown job, bad kwargs or options, values out of range).
 */
import { kwargsProblem } from '../job/kwargs-schema.js';
import { DateTime } from 'luxon';
import { InvalidTaskArguments, TaskNotAvailable } from '../model/errors.js';
import { generateTaskIds } from '../job/ids.js';
import type { JsonObject } from '../model/json.js';
import { boundedTime, checkArguments, expiryTime, seconds, type QueueOptions } from '../model/options.js';
import { DEFAULT_LIMITS, MAX_DELAY_SECONDS, MAX_PRIORITY, MAX_RETRIES, MAX_TIMEOUT_SECONDS, type TaskLimits } from '../model/limits.js';
import type { JobRegistry } from '../job/registry.js';
import { QUEUED } from '../model/states.js';
import type { WireTask } from '../model/task.js';
import { copyJson, copyPlainJson } from './plain-json.js';

/** One item of `queueTasks`. */
export interface QueueItem {
  jobName: string;
  kwargs?: JsonObject;
  options?: QueueOptions;
}

const QUEUE_OPTION_KEYS = new Set([
  'metaParams', 'expiry', 'delay', 'eta', 'priority', 'maxRetries', 'retryDelay', 'timeout', 'fromTask', 'idempotencyKey',
]);

/**
 * A new QUEUED task, in its wire form (epoch seconds), from a queue item's job name, kwargs and
 * options (undefined: none), queued at `nowMs` (epoch ms); throws TaskNotAvailable or
 * InvalidTaskArguments naming the problem. Every time and size is bounded (model/limits.ts), so
 * what is stored always decodes. kwargs and meta are the task's own copies. luxon is used only for
 * options given as DateTime or Duration.
 */
export function buildTask(
  registry: JobRegistry,
  jobName: string,
  givenKwargs: JsonObject | undefined,
  givenOptions: QueueOptions | undefined,
  nowMs: number,
  limits: TaskLimits = DEFAULT_LIMITS,
): WireTask {
  const kwargs = givenKwargs === undefined ? {} : givenKwargs;
  const options = givenOptions === undefined ? {} : givenOptions;
  if (typeof jobName !== 'string' || !jobName) throw new InvalidTaskArguments('A task needs a job name (string)');
  const job = registry.get(jobName);
  if (!job) throw new TaskNotAvailable(jobName);
  if (typeof options !== 'object' || options === null) throw new InvalidTaskArguments(`options of ${jobName} must be an object`);
  for (const key of Object.keys(options)) {
    if (!QUEUE_OPTION_KEYS.has(key)) throw new InvalidTaskArguments(`Unknown option "${key}" for ${jobName}`);
  }
  const [ownKwargs, meta] = checkedCopies(jobName, kwargs, options.metaParams, limits);
  const problem = kwargsProblem(job.name, job.kwargsSchema ?? null, ownKwargs);
  if (problem) throw new InvalidTaskArguments(problem);
  const [id, lockId] = generateTaskIds(job, ownKwargs);
  // luxon only for a task with an expiry, a delay or a DateTime eta (no closure per task: tsx
  // names every function a call makes, a defineProperty each).
  const needsNow = (options.expiry !== undefined && options.expiry !== null) || !!job.expires || options.delay !== undefined || DateTime.isDateTime(options.eta);
  const now = needsNow ? DateTime.fromMillis(nowMs) : null;
  const expiry =
    options.expiry !== undefined && options.expiry !== null
      ? expiryTime(options.expiry, now as DateTime)
      : job.expires
        ? expiryTime(job.expires, now as DateTime)
        : null;
  const timeout = options.timeout !== undefined ? options.timeout : job.timeout;
  const eta = etaOf(options, nowMs, now);
  return {
    id,
    name: job.name,
    status: QUEUED,
    kwargs: ownKwargs,
    result: null,
    stacktrace: null,
    time_queued: nowMs / 1000,
    time_started: null,
    time_ended: null,
    expiry: expiry === null ? null : expiry.toMillis() / 1000,
    lock_id: lockId,
    from_task: options.fromTask ?? null,
    worker: null,
    retries: 0,
    meta,
    priority: bounded(finite(options.priority ?? job.priority, 'priority'), 'priority', -MAX_PRIORITY, MAX_PRIORITY),
    eta,
    max_retries: bounded(nonNegativeInt(options.maxRetries ?? job.maxRetries, 'maxRetries'), 'maxRetries', 0, MAX_RETRIES),
    retry_delay: seconds(options.retryDelay ?? job.retryDelay ?? 0, 'retryDelay'),
    timeout: timeout === null || timeout === undefined ? null : seconds(timeout, 'timeout', MAX_TIMEOUT_SECONDS),
    redeliveries: 0,
  };
}

/**
 * The task's own copies of kwargs and metaParams, checked (plain JSON objects, together at most
 * `limits.maxArgumentBytes` as JSON). One walk copies and bounds their size; only values it
 * cannot vouch for (not plain JSON, or possibly over the limit) go through the full check, which
 * throws naming the problem.
 */
function plainObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkedCopies(jobName: string, kwargs: unknown, metaParams: unknown, limits: TaskLimits): [JsonObject, JsonObject] {
  const k = plainObject(kwargs) ? copyPlainJson(kwargs) : undefined;
  const m = metaParams === undefined ? { copy: NO_META, maxBytes: 0 } : plainObject(metaParams) ? copyPlainJson(metaParams) : undefined;
  if (!k || !m || k.maxBytes + m.maxBytes > limits.maxArgumentBytes) {
    checkArguments(jobName, kwargs, metaParams, limits);
    return [copyJson(kwargs as JsonObject), metaParams === undefined ? NO_META : orNoMeta(copyJson(metaParams as JsonObject))];
  }
  return [k.copy as JsonObject, orNoMeta(m.copy as JsonObject)];
}

/**
 * The meta of a task queued without any: one frozen empty object shared by every such task (an
 * empty object per stored task was one more object each kept for resultTtl). Nothing changes a
 * task's meta in place: progress replaces it, and what reaches user code is a copy.
 */
const NO_META: JsonObject = Object.freeze({}) as JsonObject;

function orNoMeta(meta: JsonObject): JsonObject {
  for (const _ in meta) return meta;
  return NO_META;
}

export function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new InvalidTaskArguments(`${what} must be a positive integer, got ${String(v)}`);
  return v;
}

export function nonNegativeInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0) throw new InvalidTaskArguments(`${what} must be a non-negative integer, got ${String(v)}`);
  return v;
}

function finite(v: number, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidTaskArguments(`${what} must be a finite number, got ${String(v)}`);
  return v;
}

function bounded(v: number, what: string, min: number, max: number): number {
  if (v < min || v > max) throw new InvalidTaskArguments(`${what} must be between ${min} and ${max}, got ${v}`);
  return v;
}

/** The eta of a task in epoch seconds (whole ms), or null. */
function etaOf(options: QueueOptions, nowMs: number, now: DateTime | null): number | null {
  if (options.eta !== undefined) {
    if (DateTime.isDateTime(options.eta)) return boundedTime(options.eta, 'eta', now as DateTime).toMillis() / 1000;
    const eta = finite(options.eta, 'eta');
    if (Math.abs(eta - nowMs / 1000) > MAX_DELAY_SECONDS) {
      throw new InvalidTaskArguments(`eta must be epoch seconds within 10 years of now, got ${eta}`);
    }
    return Math.round(eta * 1000) / 1000;
  }
  if (options.delay !== undefined) return (now as DateTime).plus({ milliseconds: seconds(options.delay, 'delay') * 1000 }).toMillis() / 1000;
  return null;
}

/** The idempotency key of a queue item, checked; null when it has none. */
export function idempotencyKeyOf(options: QueueOptions | undefined): string | null {
  const key = options?.idempotencyKey;
  if (key === undefined || key === null) return null;
  if (typeof key !== 'string' || !key || key.length > 200) {
    throw new InvalidTaskArguments(`idempotencyKey must be a non-empty string of at most 200 characters, got ${JSON.stringify(key)}`);
  }
  return key;
}
