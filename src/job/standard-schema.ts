/**
 * Standard Schema (https://standardschema.dev): the common interface of zod, valibot, arktype and
 * others, so a job may declare its kwargs with the validator its authors already use, without
 * pulsar-tasks depending on any of them. Only synchronous validation is supported: kwargs are
 * checked while a task is built.
 */
import type { Json } from '../model/json.js';

/** The part of Standard Schema v1 that pulsar-tasks uses. */
export interface StandardSchemaV1 {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult | Promise<StandardResult>;
    /** Standard JSON Schema, when the library offers it (shown by `job_list`). */
    readonly jsonSchema?: { readonly input?: (options: { target: string }) => unknown };
  };
}

/** The outcome of a Standard Schema validation. */
export type StandardResult =
  | { readonly value: unknown; readonly issues?: undefined }
  | { readonly issues: readonly { readonly message: string; readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] }[] };

/** True for a Standard Schema (v1). */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if (typeof value !== 'object' && typeof value !== 'function') return false;
  const std = value === null ? undefined : (value as Partial<StandardSchemaV1>)['~standard'];
  return typeof std === 'object' && std !== null && std.version === 1 && typeof std.validate === 'function';
}

/** Why `kwargs` fail the schema (the first issue, naming its field), or null when they pass. */
export function standardProblem(schema: StandardSchemaV1, kwargs: unknown): string | null {
  const result = schema['~standard'].validate(kwargs);
  if (result instanceof Promise) {
    result.catch(() => undefined);
    return `its ${schema['~standard'].vendor} schema validates asynchronously, which is not supported: use a synchronous schema`;
  }
  const issue = result.issues?.[0];
  if (!issue) return null;
  const field = (issue.path ?? []).map((p) => String(typeof p === 'object' && p !== null ? p.key : p)).join('.');
  return field ? `${field}: ${issue.message}` : issue.message;
}

/** What `job_list` shows of the schema: its JSON Schema when the library can give one, else its vendor. */
export function describeStandardSchema(schema: StandardSchemaV1): Json {
  const std = schema['~standard'];
  try {
    const json = std.jsonSchema?.input?.({ target: 'draft-2020-12' });
    if (json !== undefined) return JSON.parse(JSON.stringify(json)) as Json;
  } catch {
    // The library could not express it: its vendor is all that can be shown.
  }
  return { standard_schema: std.vendor };
}
