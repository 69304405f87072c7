/**
 * Reading JSON-RPC params: positional or named, each value checked, every problem a -32602 that
 * names the method and the parameter.
 */
import type { Json, JsonObject } from '../model/json.js';
import { statusCode, isTaskStatus, type TaskStatus } from '../model/states.js';
import { invalidParams, type RpcParams } from './protocol.js';

/**
 * Params as an object keyed by `names`: positional params take the names in order, named params
 * must be among them (an unexpected name is more likely a typo than something to ignore).
 */
export function namedParams(method: string, params: RpcParams | undefined, names: readonly string[]): JsonObject {
  if (params === undefined) return {};
  if (Array.isArray(params)) {
    if (params.length > names.length) {
      const expected = names.length ? `(${names.join(', ')})` : 'none';
      throw invalidParams(`${method} takes at most ${names.length} params ${expected}, got ${params.length}`);
    }
    const out: JsonObject = {};
    params.forEach((value, i) => {
      out[names[i] as string] = value;
    });
    return out;
  }
  for (const key of Object.keys(params)) {
    if (!names.includes(key)) {
      const expected = names.length ? `expected ${names.join(', ')}` : 'it takes none';
      throw invalidParams(`${method} has no parameter "${key}" (${expected})`);
    }
  }
  return params;
}

/** A required non-empty string. */
export function requiredString(method: string, params: JsonObject, key: string): string {
  const value = params[key];
  if (typeof value !== 'string' || !value) throw invalidParams(`${method} needs "${key}" (a non-empty string)`);
  return value;
}

/** An optional string (absent or null → undefined). */
export function optionalString(method: string, params: JsonObject, key: string): string | undefined {
  const value = params[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParams(`${method}: "${key}" must be a string`);
  return value;
}

/** An optional number of seconds ≥ 0 (absent or null → undefined). */
export function optionalSeconds(method: string, params: JsonObject, key: string): number | undefined {
  const value = params[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidParams(`${method}: "${key}" must be a number of seconds ≥ 0`);
  }
  return value;
}

/** An optional JSON object (absent or null → undefined). */
export function optionalObject(method: string, params: JsonObject, key: string): JsonObject | undefined {
  const value = params[key];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalidParams(`${method}: "${key}" must be an object`);
  return value;
}

/** An optional list of strings; a single string counts as a list of one (pulsar accepted both). */
export function optionalStringList(method: string, params: JsonObject, key: string): string[] | undefined {
  const value = params[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw invalidParams(`${method}: "${key}" must be a string or a list of strings`);
  }
  return value as string[];
}

/** Status filter: codes or names (`SUCCESS`), one or a list. */
export function optionalStatus(method: string, params: JsonObject, key: string): TaskStatus[] | undefined {
  const value = params[key];
  if (value === undefined || value === null) return undefined;
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => {
    const code = typeof v === 'string' ? statusCode(v.toUpperCase()) : v;
    if (!isTaskStatus(code)) throw invalidParams(`${method}: "${key}" must be task status codes or names, got ${JSON.stringify(v)}`);
    return code;
  });
}

/** True for a JSON object (not an array, not null). */
export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
