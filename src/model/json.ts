/**
 * Plain JSON values: what kwargs, metaParams and results may hold, and the check that says so.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Levels of nesting plain JSON may have (kwargs, metaParams, results): deeper is refused. */
export const MAX_JSON_DEPTH = 64;

/**
 * Why `value` is not plain JSON (a path and a reason), or null when it is.
 * Plain JSON: null, booleans, finite numbers, strings, arrays and objects whose prototype is
 * Object.prototype or null, without cycles, nested at most MAX_JSON_DEPTH levels. Dates, Maps,
 * functions, undefined, NaN are not.
 */
export function jsonProblem(value: unknown, path = '$', seen = new Set<object>(), depth = 0): string | null {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${path} is ${value}, not a finite number`;
  if (typeof value !== 'object') return `${path} is a ${typeof value}`;
  if (seen.has(value)) return `${path} is a circular reference`;
  if (depth >= MAX_JSON_DEPTH) return `${path.length > 60 ? `${path.slice(0, 60)}…` : path} nests deeper than ${MAX_JSON_DEPTH} levels`;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const p = jsonProblem(value[i], `${path}[${i}]`, seen, depth + 1);
        if (p) return p;
      }
      return null;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const ctor = (value as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
      return `${path} is a ${ctor} instance, not a plain object`;
    }
    for (const [k, v] of Object.entries(value)) {
      const p = jsonProblem(v, `${path}.${k}`, seen, depth + 1);
      if (p) return p;
    }
    return null;
  } finally {
    seen.delete(value);
  }
}

/** True for a plain JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && jsonProblem(value) === null;
}

/** A result value made storable: JSON values as they are, anything else through JSON. */
export function toJsonResult(value: unknown): Json {
  if (value === undefined) return null;
  if (jsonProblem(value) === null) return value as Json;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : (JSON.parse(text) as Json);
  } catch {
    return String(value);
  }
}
