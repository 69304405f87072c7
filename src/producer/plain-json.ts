/**
 * Copying plain JSON (kwargs, meta, results) without structuredClone: a walk that copies what it
 * checks. structuredClone handles every cloneable type and was a measurable share of the per-task
 * cost; a task's values are plain JSON, which a recursive copy reproduces exactly.
 */
import type { Json, JsonObject } from '../model/json.js';
import { MAX_JSON_DEPTH } from '../model/json.js';

/**
 * A copy of `value` when it is plain JSON (null, booleans, finite numbers, strings, arrays and
 * objects whose prototype is Object.prototype or null, nested at most MAX_JSON_DEPTH levels), with
 * an upper bound of its size as UTF-8 JSON; undefined when it is not plain JSON or is too deep
 * (the caller then runs the full check, which says why). A cycle runs into the depth bound.
 */
export function copyPlainJson(value: unknown): { copy: Json; maxBytes: number } | undefined {
  const size = { bytes: 0 };
  const copy = walk(value, 0, size);
  return copy === NOT_JSON ? undefined : { copy: copy as Json, maxBytes: size.bytes };
}

/** A copy of `value`, known to be plain JSON already (checked when it was stored). */
export function copyJson<T extends Json>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  const copy = walk(value, 0, { bytes: 0 });
  return (copy === NOT_JSON ? structuredClone(value) : copy) as T;
}

/** A copy of a JSON object known to be plain JSON. */
export function copyJsonObject(value: JsonObject): JsonObject {
  return copyJson(value);
}

const NOT_JSON = Symbol('not plain JSON');

/** At most 6 bytes per UTF-16 unit (`\u001f`), plus the quotes. */
const stringBytes = (s: string): number => 6 * s.length + 2;

function walk(value: unknown, depth: number, size: { bytes: number }): unknown {
  switch (typeof value) {
    case 'string':
      size.bytes += stringBytes(value);
      return value;
    case 'number':
      if (!Number.isFinite(value)) return NOT_JSON;
      size.bytes += 24;
      return value;
    case 'boolean':
      size.bytes += 5;
      return value;
    case 'object':
      break;
    default:
      return NOT_JSON;
  }
  if (value === null) {
    size.bytes += 4;
    return null;
  }
  if (depth >= MAX_JSON_DEPTH) return NOT_JSON;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    size.bytes += 2 + value.length;
    for (let i = 0; i < value.length; i++) {
      const item = walk(value[i], depth + 1, size);
      if (item === NOT_JSON) return NOT_JSON;
      out[i] = item;
    }
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return NOT_JSON;
  const out: Record<string, unknown> = {};
  size.bytes += 2;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const item = walk((value as Record<string, unknown>)[key], depth + 1, size);
    if (item === NOT_JSON) return NOT_JSON;
    size.bytes += stringBytes(key) + 2;
    // An own "__proto__" key stays a key (an assignment would set the copy's prototype).
    if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
    else out[key] = item;
  }
  return out;
}
