/**
 * A job's declared kwargs, checked when a task is queued (on the producer) and again before it
 * runs (in the worker), with an error that names the field: a JSON Schema (validated by ajv,
 * compiled once), or a Standard Schema (zod, valibot, ...). JSON Schema is the first choice
 * because it is plain JSON: `job_list` and `pulsar-tasks jobs` show it as it is, and any client,
 * in any language, can read it.
 */
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, ErrorObject, ValidateFunction } from 'ajv';
import { ImproperlyConfigured } from '../model/errors.js';
import { jsonProblem, type Json, type JsonObject } from '../model/json.js';
import { describeStandardSchema, isStandardSchema, standardProblem, type StandardSchemaV1 } from './standard-schema.js';

/** What `Job.kwargsSchema` may hold: a JSON Schema object or a Standard Schema. */
export type KwargsSchema = JsonObject | StandardSchemaV1;

const compiled = new WeakMap<object, ValidateFunction>();
let ajvInstance: AjvClass | null = null;

/** ajv, loaded on first use (synchronously: it is CommonJS): processes whose jobs declare no schema never load it. */
function ajv(): AjvClass {
  if (!ajvInstance) {
    const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    ajvInstance = new Ajv({ allErrors: false, strict: false });
  }
  return ajvInstance;
}

/** Checks a job's schema at registration; throws ImproperlyConfigured naming the job when it is not usable. */
export function checkKwargsSchema(jobName: string, schema: unknown): void {
  if (!isStandardSchema(schema)) compileKwargsSchema(jobName, schema);
}

/** Compiles a JSON Schema (once); throws ImproperlyConfigured naming the job when it is not one. */
function compileKwargsSchema(jobName: string, schema: unknown): ValidateFunction {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new ImproperlyConfigured(`Job "${jobName}": kwargsSchema must be a JSON Schema object (such as { type: 'object', properties: { n: { type: 'number' } } }) or a Standard Schema (zod, valibot)`);
  }
  const cached = compiled.get(schema);
  if (cached) return cached;
  const problem = jsonProblem(schema, 'kwargsSchema');
  if (problem) throw new ImproperlyConfigured(`Job "${jobName}": kwargsSchema must be plain JSON: ${problem}`);
  let validate: ValidateFunction;
  try {
    validate = ajv().compile(schema);
  } catch (err) {
    throw new ImproperlyConfigured(`Job "${jobName}": kwargsSchema is not a valid JSON Schema: ${(err as Error).message}`, { cause: err });
  }
  compiled.set(schema, validate);
  return validate;
}

/** Why `kwargs` do not match the job's schema (one line naming the field), or null when they do. */
export function kwargsProblem(jobName: string, schema: KwargsSchema | null, kwargs: JsonObject): string | null {
  if (schema === null) return null;
  if (isStandardSchema(schema)) {
    const problem = standardProblem(schema, kwargs);
    return problem === null ? null : `kwargs of ${jobName} do not match its schema: ${problem}`;
  }
  const validate = compileKwargsSchema(jobName, schema);
  if (validate(kwargs)) return null;
  const error = validate.errors?.[0];
  return `kwargs of ${jobName} do not match its schema: ${error ? describe(error, kwargs) : 'invalid'}`;
}

/** What `job_list` shows of a schema: a JSON Schema as it is. */
export function describeKwargsSchema(schema: KwargsSchema): Json {
  return isStandardSchema(schema) ? describeStandardSchema(schema) : schema;
}

/** `n must be number, got "abc"`, `missing required n`, `unknown argument x`. */
function describe(error: ErrorObject, kwargs: JsonObject): string {
  const field = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `missing required argument ${join(field, String(params.missingProperty))}`;
    case 'additionalProperties':
      return `unknown argument ${join(field, String(params.additionalProperty))}`;
    default: {
      const got = JSON.stringify(valueAt(kwargs, error.instancePath)) ?? 'undefined';
      return `${field || 'kwargs'} ${error.message ?? 'is invalid'}, got ${got.length > 60 ? `${got.slice(0, 60)}…` : got}`;
    }
  }
}

function join(parent: string, child: string): string {
  return parent ? `${parent}.${child}` : child;
}

function valueAt(root: unknown, pointer: string): unknown {
  let value = root;
  for (const part of pointer.split('/').slice(1)) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}
