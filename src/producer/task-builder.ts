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
import { Task } from '../model/task.js';

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
 * A new QUEUED task from a queue item; throws TaskNotAvailable or InvalidTaskArguments naming the
 * problem. Every time and size is bounded (model/limits.ts), so what is stored always decodes.
 */
export function buildTask(registry: JobRegistry, item: QueueItem, now: DateTime, limits: TaskLimits = DEFAULT_LIMITS): Task {
  const { jobName, kwargs = {}, options = {} } = item ?? ({} as QueueItem);
  if (typeof jobName !== 'string' || !jobName) throw new InvalidTaskArguments('A task needs a job name (string)');
  const job = registry.get(jobName);
  if (!job) throw new TaskNotAvailable(jobName);
  if (typeof options !== 'object' || options === null) throw new InvalidTaskArguments(`options of ${jobName} must be an object`);
  for (const key of Object.keys(options)) {
    if (!QUEUE_OPTION_KEYS.has(key)) throw new InvalidTaskArguments(`Unknown option "${key}" for ${jobName}`);
  }
  checkArguments(jobName, kwargs, options.metaParams, limits);
  const problem = kwargsProblem(job.name, job.kwargsSchema ?? null, kwargs);
  if (problem) throw new InvalidTaskArguments(problem);
  const [id, lockId] = generateTaskIds(job, kwargs);
  const expiry =
    options.expiry !== undefined && options.expiry !== null
      ? expiryTime(options.expiry, now)
      : job.expires
        ? expiryTime(job.expires, now)
        : null;
  const timeout = options.timeout !== undefined ? options.timeout : job.timeout;
  return new Task({
    id,
    name: job.name,
    status: QUEUED,
    kwargs: structuredClone(kwargs),
    timeQueued: now,
    expiry,
    lockId,
    fromTask: options.fromTask ?? null,
    meta: structuredClone(options.metaParams ?? {}),
    priority: bounded(finite(options.priority ?? job.priority, 'priority'), 'priority', -MAX_PRIORITY, MAX_PRIORITY),
    eta: etaOf(options, now),
    maxRetries: bounded(nonNegativeInt(options.maxRetries ?? job.maxRetries, 'maxRetries'), 'maxRetries', 0, MAX_RETRIES),
    retryDelay: seconds(options.retryDelay ?? job.retryDelay ?? 0, 'retryDelay'),
    timeout: timeout === null || timeout === undefined ? null : seconds(timeout, 'timeout', MAX_TIMEOUT_SECONDS),
  });
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

function etaOf(options: QueueOptions, now: DateTime): DateTime | null {
  if (options.eta !== undefined) {
    if (DateTime.isDateTime(options.eta)) return boundedTime(options.eta, 'eta', now);
    const eta = finite(options.eta, 'eta');
    if (Math.abs(eta - now.toMillis() / 1000) > MAX_DELAY_SECONDS) {
      throw new InvalidTaskArguments(`eta must be epoch seconds within 10 years of now, got ${eta}`);
    }
    return DateTime.fromMillis(Math.round(eta * 1000));
  }
  if (options.delay !== undefined) return now.plus({ milliseconds: seconds(options.delay, 'delay') * 1000 });
  return null;
}

/** The idempotency key of a queue item, checked; null when it has none. */
export function idempotencyKeyOf(item: QueueItem): string | null {
  const key = item?.options?.idempotencyKey;
  if (key === undefined || key === null) return null;
  if (typeof key !== 'string' || !key || key.length > 200) {
    throw new InvalidTaskArguments(`idempotencyKey must be a non-empty string of at most 200 characters, got ${JSON.stringify(key)}`);
  }
  return key;
}
