/**
 * Options of `queueTask` and their normalisation into absolute times and plain numbers.
 */
import { DateTime, Duration } from 'luxon';
import { InvalidTaskArguments } from './errors.js';
import { jsonProblem, type Json, type JsonObject } from './json.js';
import { DEFAULT_LIMITS, formatBytes, jsonBytes, MAX_DELAY_SECONDS, type TaskLimits } from './limits.js';

/** Options of `queueTask` (SPEC §5). Numbers are seconds. */
export interface QueueOptions {
  /** Stored as `task.meta`. Plain JSON only. */
  metaParams?: JsonObject;
  /** Lag after queueing past which a task not yet started is REVOKED (seconds or Duration), or an absolute time. */
  expiry?: number | Duration | DateTime | null;
  /** Not picked before this lag (seconds or Duration). */
  delay?: number | Duration;
  /** Not picked before this time (DateTime, or epoch seconds). */
  eta?: DateTime | number;
  /** Higher runs first; default the job's priority. */
  priority?: number;
  /** Attempts after a failure; default the job's maxRetries. */
  maxRetries?: number;
  /** Wait between a failure and the next attempt (seconds or Duration). */
  retryDelay?: number | Duration;
  /** A run longer than this is REVOKED (seconds or Duration). */
  timeout?: number | Duration | null;
  /** The id of the task that queues this one (set by `Job.queueTask`). */
  fromTask?: string | null;
  /**
   * A caller's key for this request: queueing again with a key already used within the backend's
   * idempotency window (default one day) gives the first task's id instead of a second task.
   */
  idempotencyKey?: string | null;
}

/**
 * Seconds of a number-or-Duration option, checked: finite, ≥ 0 and at most `max` seconds;
 * throws InvalidTaskArguments naming the option.
 */
export function seconds(value: number | Duration, what: string, max = MAX_DELAY_SECONDS): number {
  const s = Duration.isDuration(value) ? value.as('seconds') : value;
  if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) {
    throw new InvalidTaskArguments(`${what} must be a non-negative number of seconds or a Duration, got ${String(value)}`);
  }
  if (s > max) throw new InvalidTaskArguments(`${what} must be at most ${max} seconds (${describeSeconds(max)}), got ${String(value)}`);
  return s;
}

/**
 * A time no further than MAX_DELAY_SECONDS from `now` either way (an eta or an expiry given as a
 * date); throws InvalidTaskArguments naming the option.
 */
export function boundedTime(value: DateTime, what: string, now: DateTime): DateTime {
  if (!DateTime.isDateTime(value) || !value.isValid) throw new InvalidTaskArguments(`${what} must be a valid date, got ${String(value)}`);
  if (Math.abs(value.toMillis() - now.toMillis()) > MAX_DELAY_SECONDS * 1000) {
    throw new InvalidTaskArguments(`${what} must be within ${describeSeconds(MAX_DELAY_SECONDS)} of now, got ${value.toISO() ?? String(value)}`);
  }
  return value;
}

/** An absolute time from an expiry option, relative to `now`. */
export function expiryTime(value: number | Duration | DateTime, now: DateTime): DateTime {
  if (DateTime.isDateTime(value)) return boundedTime(value, 'expiry', now);
  return now.plus({ milliseconds: Math.round(seconds(value, 'expiry') * 1000) });
}

/**
 * Throws InvalidTaskArguments unless kwargs and metaParams are plain JSON objects, nested at
 * most MAX_JSON_DEPTH levels and together no larger than `limits.maxArgumentBytes`.
 */
export function checkArguments(jobName: string, kwargs: unknown, metaParams: unknown, limits: TaskLimits = DEFAULT_LIMITS): void {
  let bytes = 0;
  for (const [what, value] of [
    ['kwargs', kwargs],
    ['metaParams', metaParams],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InvalidTaskArguments(`${what} of ${jobName} must be a plain JSON object of key-valued arguments`);
    }
    const problem = jsonProblem(value, what);
    if (problem) throw new InvalidTaskArguments(`${what} of ${jobName} are not plain JSON: ${problem}`);
    bytes += jsonBytes(value as Json);
    if (bytes > limits.maxArgumentBytes) {
      throw new InvalidTaskArguments(
        `kwargs and metaParams of ${jobName} are over ${formatBytes(limits.maxArgumentBytes)} as JSON (maxArgumentBytes): pass a reference (a key, a URL) to large data instead`,
      );
    }
  }
}

/** Seconds for people: `10 years`, `24 days`, `90 seconds`. */
function describeSeconds(s: number): string {
  if (s % (365 * 86400) === 0) return `${s / (365 * 86400)} years`;
  if (s % 86400 === 0) return `${s / 86400} days`;
  return `${s} seconds`;
}
