/**
 * The params of `queue_task`: which keys are kwargs and which are options, in both forms.
 *
 * - Explicit form, chosen when `kwargs` or `options` is an object:
 *   `{jobname, kwargs: {...}, options: {priority, delay, eta, max_retries, retry_delay, timeout,
 *   expiry, idempotency_key, meta_data}}`. Nothing else is allowed at the top level.
 * - Flat form (pulsar's): `jobname` and every reserved option name below are options; every other
 *   key is a kwarg. A reserved name is never a kwarg: `"priority": "high"` is refused as a bad
 *   priority, not passed to the job.
 * - Positional form: `[jobname, kwargs?, meta_data?, expiry?]` (pulsar's).
 */
import { DateTime } from 'luxon';
import type { JsonObject } from '../model/json.js';
import type { QueueOptions } from '../model/options.js';
import { isObject, namedParams, optionalObject, optionalSeconds, optionalString, requiredString } from './params.js';
import { invalidParams, type RpcParams } from './protocol.js';

/** Option names of `queue_task`, in the explicit form's `options` and reserved in the flat form. */
export const QUEUE_TASK_OPTIONS = [
  'priority',
  'delay',
  'eta',
  'max_retries',
  'retry_delay',
  'timeout',
  'expiry',
  'idempotency_key',
  'meta_data',
] as const;

/** Keys of the flat form that are never kwargs: `jobname`, the options, and `kwargs`/`options`. */
export const QUEUE_TASK_RESERVED: readonly string[] = ['jobname', 'kwargs', 'options', ...QUEUE_TASK_OPTIONS];

/** A `queue_task` call, read. */
export interface QueueTaskCall {
  jobname: string;
  kwargs: JsonObject;
  options: QueueOptions;
}

const METHOD = 'queue_task';

/** Reads `queue_task` params in any of the three forms; throws -32602 naming the bad key. */
export function readQueueTaskParams(params: RpcParams | undefined): QueueTaskCall {
  if (Array.isArray(params)) {
    const p = namedParams(METHOD, params, ['jobname', 'kwargs', 'meta_data', 'expiry']);
    return { jobname: requiredString(METHOD, p, 'jobname'), kwargs: kwargsOf(p.kwargs), ...readOptions(p, 'params') };
  }
  const p = params ?? {};
  if (isObject(p.kwargs) || isObject(p.options)) {
    for (const key of Object.keys(p)) {
      if (key !== 'jobname' && key !== 'kwargs' && key !== 'options') {
        throw invalidParams(`${METHOD}: unexpected "${key}" beside "kwargs"/"options" (the explicit form takes jobname, kwargs and options only)`);
      }
    }
    const options = optionalObject(METHOD, p, 'options') ?? {};
    for (const key of Object.keys(options)) {
      if (!(QUEUE_TASK_OPTIONS as readonly string[]).includes(key)) {
        throw invalidParams(`${METHOD}: unknown option "${key}" (options are ${QUEUE_TASK_OPTIONS.join(', ')})`);
      }
    }
    return { jobname: requiredString(METHOD, p, 'jobname'), kwargs: kwargsOf(p.kwargs), ...readOptions(options, 'options') };
  }
  for (const key of ['kwargs', 'options']) {
    if (p[key] !== undefined && p[key] !== null) throw invalidParams(`${METHOD}: "${key}" must be an object`);
  }
  // fromEntries defines keys as own data: a `__proto__` key stays a key, never a prototype.
  const kwargs = Object.fromEntries(Object.entries(p).filter(([key]) => !QUEUE_TASK_RESERVED.includes(key)));
  return { jobname: requiredString(METHOD, p, 'jobname'), kwargs, ...readOptions(p, 'params') };
}

function kwargsOf(value: JsonObject[string] | undefined): JsonObject {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw invalidParams(`${METHOD}: kwargs must be an object of key-valued arguments`);
  return value;
}

/** The options found in `source` (the params, or the explicit form's `options`). */
function readOptions(source: JsonObject, where: string): { options: QueueOptions } {
  const name = `${METHOD} ${where}`;
  const options: QueueOptions = {};
  const meta = optionalObject(name, source, 'meta_data');
  if (meta) options.metaParams = meta;
  const priority = source.priority;
  if (priority !== undefined && priority !== null) {
    if (typeof priority !== 'number' || !Number.isFinite(priority)) throw invalidParams(`${name}: "priority" must be a number (higher runs first)`);
    options.priority = priority;
  }
  const maxRetries = source.max_retries;
  if (maxRetries !== undefined && maxRetries !== null) {
    if (typeof maxRetries !== 'number' || !Number.isInteger(maxRetries) || maxRetries < 0) {
      throw invalidParams(`${name}: "max_retries" must be an integer ≥ 0`);
    }
    options.maxRetries = maxRetries;
  }
  const seconds = (key: string) => optionalSeconds(name, source, key);
  const delay = seconds('delay');
  if (delay !== undefined) options.delay = delay;
  const retryDelay = seconds('retry_delay');
  if (retryDelay !== undefined) options.retryDelay = retryDelay;
  const timeout = seconds('timeout');
  if (timeout !== undefined) options.timeout = timeout;
  const expiry = seconds('expiry');
  if (expiry !== undefined) options.expiry = expiry;
  const eta = etaOf(name, source);
  if (eta !== undefined) options.eta = eta;
  if (options.eta !== undefined && options.delay !== undefined) throw invalidParams(`${name}: give "delay" or "eta", not both`);
  const idempotencyKey = optionalString(name, source, 'idempotency_key');
  if (idempotencyKey === '') throw invalidParams(`${name}: "idempotency_key" must be a non-empty string`);
  if (idempotencyKey !== undefined) options.idempotencyKey = idempotencyKey;
  return { options };
}

/** `eta`: epoch seconds, or an ISO 8601 time with its offset. */
function etaOf(name: string, source: JsonObject): number | undefined {
  const value = source.eta;
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const time = DateTime.fromISO(value, { setZone: true });
    if (time.isValid && /(Z|[+-]\d\d:?\d\d)$/i.test(value)) return time.toMillis() / 1000;
  }
  throw invalidParams(`${name}: "eta" must be epoch seconds or an ISO 8601 time with an offset (2026-01-01T09:00:00Z), got ${JSON.stringify(value)}`);
}
