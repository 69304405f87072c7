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
