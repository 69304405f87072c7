/**
 * Bounds on what one task may carry and on its times, so that no single request can make a task
 * that breaks listings, memory or timers for everyone: sizes of kwargs, meta and results, and
 * the largest durations and dates of `queueTask`'s options.
 */
import { ImproperlyConfigured } from './errors.js';
import { jsonProblem, type Json } from './json.js';

/** Per-task size bounds (bytes of JSON, UTF-8). */
export interface TaskLimits {
  /** kwargs and metaParams of one task together (default 256 KiB). */
  maxArgumentBytes: number;
  /** The result of one task (default 1 MiB); a larger result ends the task FAILURE. */
  maxResultBytes: number;
}

/** The defaults of TaskLimits. */
export const DEFAULT_LIMITS: Readonly<TaskLimits> = Object.freeze({ maxArgumentBytes: 256 * 1024, maxResultBytes: 1024 * 1024 });

/** Seconds in ten years: the longest expiry, delay or retry delay, and how far ahead an eta may be. */
export const MAX_DELAY_SECONDS = 10 * 365 * 24 * 3600;

/**
 * The longest run `timeout` in seconds (24 days): a timer of Node fires at once past 2^31-1 ms,
 * so a longer timeout would revoke every run immediately.
 */
export const MAX_TIMEOUT_SECONDS = 24 * 24 * 3600;

/** The largest `maxRetries`. */
export const MAX_RETRIES = 1000;

/** The largest absolute `priority`. */
export const MAX_PRIORITY = 1_000_000_000;

/** Limits from partial settings; throws ImproperlyConfigured naming a bad one. */
export function taskLimits(given: Partial<TaskLimits> = {}): TaskLimits {
  const limits = { ...DEFAULT_LIMITS, ...dropUndefined(given) };
  for (const key of ['maxArgumentBytes', 'maxResultBytes'] as const) {
    const v = limits[key];
    if (!Number.isInteger(v) || v < 1) throw new ImproperlyConfigured(`${key} must be a positive integer (bytes), got ${JSON.stringify(v)}`);
  }
  return limits;
}

/** Bytes of `value` as JSON in UTF-8. */
export function jsonBytes(value: Json | undefined): number {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** `n` bytes for people: `900 KiB`, `2.5 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${Math.round((n / 1024) * 10) / 10} KiB`;
  return `${Math.round((n / 1024 / 1024) * 10) / 10} MiB`;
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Why a job's result cannot be stored (nested too deep, or over `maxBytes` as JSON), or null.
 * The message says so in one line, and becomes the FAILURE result instead.
 */
export function resultProblem(result: Json, maxBytes: number): string | null {
  const problem = jsonProblem(result, 'result');
  if (problem) return `the job returned a result that cannot be stored: ${problem}`;
  const bytes = jsonBytes(result);
  if (bytes > maxBytes) return `the job returned ${formatBytes(bytes)} of JSON, over the limit of ${formatBytes(maxBytes)} (maxResultBytes): store large results elsewhere and return a reference`;
  return null;
}

/** `text` cut to at most `maxChars` characters, saying how much was cut. */
export function clipText(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}… (${text.length - maxChars} more characters)`;
}
