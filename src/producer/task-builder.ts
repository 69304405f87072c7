/**
 * Building a task from `queueTask`'s arguments: every check happens here, before anything is
 * stored (unknown job, bad kwargs or options, values out of range).
 */
import { DateTime } from 'luxon';
import { InvalidTaskArguments, TaskNotAvailable } from '../model/errors.js';
import { generateTaskIds } from '../model/ids.js';
import type { JsonObject } from '../model/json.js';
import { checkArguments, expiryTime, seconds, type QueueOptions } from '../model/options.js';
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

/** A new QUEUED task from a queue item; throws TaskNotAvailable or InvalidTaskArguments. */
export function buildTask(registry: JobRegistry, item: QueueItem, now: DateTime): Task {
  const { jobName, kwargs = {}, options = {} } = item ?? ({} as QueueItem);
  if (typeof jobName !== 'string' || !jobName) throw new InvalidTaskArguments('A task needs a job name (string)');
  const job = registry.get(jobName);
  if (!job) throw new TaskNotAvailable(jobName);
  if (typeof options !== 'object' || options === null) throw new InvalidTaskArguments(`options of ${jobName} must be an object`);
  for (const key of Object.keys(options)) {
    if (!QUEUE_OPTION_KEYS.has(key)) throw new InvalidTaskArguments(`Unknown option "${key}" for ${jobName}`);
  }
  checkArguments(jobName, kwargs, options.metaParams);
  const [id, lockId] = generateTaskIds(job, kwargs);
  const expiry =
    options.expiry !== undefined && options.expiry !== null
      ? expiryTime(options.expiry, now)
      : job.expires
        ? now.plus(job.expires)
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
    priority: finite(options.priority ?? job.priority, 'priority'),
    eta: etaOf(options, now),
    maxRetries: nonNegativeInt(options.maxRetries ?? job.maxRetries, 'maxRetries'),
    retryDelay: seconds(options.retryDelay ?? job.retryDelay ?? 0, 'retryDelay'),
    timeout: timeout === null || timeout === undefined ? null : seconds(timeout, 'timeout'),
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

function etaOf(options: QueueOptions, now: DateTime): DateTime | null {
  if (options.eta !== undefined) {
    if (DateTime.isDateTime(options.eta)) return options.eta;
    return DateTime.fromMillis(finite(options.eta, 'eta') * 1000);
  }
  if (options.delay !== undefined) return now.plus({ milliseconds: seconds(options.delay, 'delay') * 1000 });
  return null;
}

