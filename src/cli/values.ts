/**
 * Parsing and checking of command-line values: each parser throws commander's
 * InvalidArgumentError, which commander prints as one line naming the flag.
 */
import { redactSecrets } from '../infra/secrets.js';
import { InvalidArgumentError } from 'commander';
import type { Json, JsonObject } from '../model/json.js';
import { parseLevel, type LogLevel } from '../infra/logger.js';
import { parseBind } from '../rpc/bind.js';

/** An error of the command line: printed as one line, exit status 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** A parser of integers ≥ `min`. */
export function integerAtLeast(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`Expected an integer ≥ ${min}.`);
    return n;
  };
}

/** A parser of a number of seconds > 0. */
export function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!value.trim() || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('Expected a number of seconds > 0.');
  return n;
}

/** A parser of a number of seconds ≥ 0. */
export function nonNegativeSeconds(value: string): number {
  const n = Number(value);
  if (!value.trim() || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('Expected a number of seconds ≥ 0.');
  return n;
}

/** A parser of `HOST:PORT`. */
export function bindAddress(value: string): string {
  try {
    parseBind(value);
  } catch (err) {
    throw new InvalidArgumentError(`${(err as Error).message}.`);
  }
  return value;
}

/** A parser of comma-separated lists; repeating the flag adds to the list. */
export function commaList(value: string, previous: string[] | undefined): string[] {
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => !s)) throw new InvalidArgumentError('Expected a comma-separated list without empty items.');
  return [...(previous ?? []), ...items];
}

/** A parser of log levels. */
export function logLevel(value: string): LogLevel {
  const level = parseLevel(value);
  if (!level) throw new InvalidArgumentError('Expected one of debug, info, warn, error, silent.');
  return level;
}

/** A parser of http(s) URLs. */
export function httpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('Expected a URL such as http://127.0.0.1:8060.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('Expected an http:// or https:// URL.');
  return value;
}

/**
 * `key=value` arguments as kwargs: a value is JSON when it parses as JSON (`a=1`, `x=[1,2]`,
 * `s="1"`), else the string as typed (`name=alice`).
 */
export function keyValues(args: readonly string[]): JsonObject {
  // A Map, then fromEntries: a `__proto__` key stays a key, never a prototype.
  const kwargs = new Map<string, Json>();
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new CliError(`argument "${arg}" must be key=value`);
    const key = arg.slice(0, eq);
    if (kwargs.has(key)) throw new CliError(`argument "${key}" is given twice`);
    const raw = arg.slice(eq + 1);
    let value: Json;
    try {
      value = JSON.parse(raw) as Json;
    } catch {
      value = raw;
    }
    kwargs.set(key, value);
  }
  return Object.fromEntries(kwargs);
}

/** The first line of an error's message: the CLI prints errors on one line. */
export function oneLine(err: unknown): string {
  const message = redactSecrets(err instanceof Error ? err.message : String(err));
  return (
    message
      .split('\n')
      .map((s) => s.trim())
      .find(Boolean) ?? (err instanceof Error ? err.name : 'unknown error')
  );
}

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/**
 * A parser of durations ≥ 0: seconds (`90`, `0.5`) or amounts with units (`90s`, `15m`, `2h`,
 * `7d`, `1h30m`, `500ms`); resolves to seconds.
 */
export function duration(value: string): number {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy)];
  if (!text || parts.map((p) => p[0]).join('') !== text) {
    throw new InvalidArgumentError('Expected seconds or a duration such as 90s, 15m, 2h, 7d or 1h30m.');
  }
  return parts.reduce((total, p) => total + Number(p[1]) * (UNIT_SECONDS[p[2] as string] as number), 0);
}

/** A parser of finite numbers (priorities). */
export function finiteNumber(value: string): number {
  const n = Number(value);
  if (!value.trim() || !Number.isFinite(n)) throw new InvalidArgumentError('Expected a number.');
  return n;
}

/** A parser of times: epoch seconds, or ISO 8601 with an offset (`2026-01-01T09:00:00Z`); kept as given. */
export function timeValue(value: string): number | string {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/i.test(text) && !Number.isNaN(Date.parse(text))) return text;
  throw new InvalidArgumentError('Expected epoch seconds or an ISO 8601 time with an offset, such as 2026-01-01T09:00:00Z.');
}

/** A parser of non-empty strings. */
export function nonEmpty(value: string): string {
  if (!value.trim()) throw new InvalidArgumentError('Expected a non-empty string.');
  return value;
}

const STATUS_NAMES = ['SUCCESS', 'FAILURE', 'REVOKED', 'RETRY', 'STARTED', 'QUEUED'];

/** A parser of task states by name (any case), comma-separated; repeating the flag adds to the list. */
export function statusList(value: string, previous: string[] | undefined): string[] {
  const items = value.split(',').map((s) => s.trim().toUpperCase());
  const bad = items.find((s) => !STATUS_NAMES.includes(s));
  if (bad !== undefined) throw new InvalidArgumentError(`Expected task states among ${STATUS_NAMES.join(', ')}, got "${bad}".`);
  return [...(previous ?? []), ...items];
}

/** A parser of durations > 0 (see `duration`). */
export function positiveDuration(value: string): number {
  const seconds = duration(value);
  if (seconds <= 0) throw new InvalidArgumentError('Expected a duration > 0.');
  return seconds;
}

/** A parser of integers in [min, max]. */
export function integerBetween(min: number, max: number): (value: string) => number {
  const atLeast = integerAtLeast(min);
  return (value) => {
    const n = atLeast(value);
    if (n > max) throw new InvalidArgumentError(`Expected an integer from ${min} to ${max}.`);
    return n;
  };
}

/** A parser of ended task states (SUCCESS, FAILURE, REVOKED), comma-separated. */
export function endedStatusList(value: string, previous: string[] | undefined): string[] {
  const items = statusList(value, undefined);
  const bad = items.find((s) => !['SUCCESS', 'FAILURE', 'REVOKED'].includes(s));
  if (bad !== undefined) throw new InvalidArgumentError(`Only ended tasks can be purged: expected SUCCESS, FAILURE or REVOKED, got "${bad}".`);
  return [...(previous ?? []), ...items];
}
