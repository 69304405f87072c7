/**
 * JSON-RPC 2.0 as pulsar-tasks speaks it: message shapes, error codes, the error class both the
 * server (to answer) and the client (to throw) use, and the check of an incoming request.
 */
import type { Json, JsonObject } from '../model/json.js';

/** Error codes of the JSON-RPC 2.0 specification, and ours in its server range. */
export const RPC_CODES = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** Implementation-defined (-32000..-32099): missing or wrong bearer token (HTTP 401). */
  UNAUTHORIZED: -32001,
  /** Implementation-defined: a bounded resource (waiting requests) is full; try again later. */
  SERVER_BUSY: -32002,
} as const;

/** Request ids: JSON-RPC allows strings, numbers and null. */
export type RpcId = string | number | null;

/** Params: by position or by name. */
export type RpcParams = Json[] | JsonObject;

/** A checked request. A request without `id` is a notification: it gets no response. */
export interface RpcRequest {
  jsonrpc: '2.0';
  method: string;
  params?: RpcParams;
  id?: RpcId;
}

/** The `error` member of a response. */
export interface RpcErrorObject {
  code: number;
  message: string;
  data?: Json;
}

/** A response: exactly one of `result` and `error`. */
export type RpcResponse =
  | { jsonrpc: '2.0'; result: Json; id: RpcId }
  | { jsonrpc: '2.0'; error: RpcErrorObject; id: RpcId };

/**
 * A JSON-RPC error: thrown by methods to answer with this code, and by RpcClient when the server
 * answers with an error. `data.type` names the library error behind it (`TaskNotAvailable`, ...).
 */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: Json,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  /** `data.type` when the server sent one. */
  get type(): string | undefined {
    const data = this.data;
    return typeof data === 'object' && data !== null && !Array.isArray(data) && typeof data.type === 'string' ? data.type : undefined;
  }

  /** The `error` member of a response. */
  toJSON(): RpcErrorObject {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }
}

/** Invalid params (-32602) with a message saying which. */
export function invalidParams(message: string): RpcError {
  return new RpcError(RPC_CODES.INVALID_PARAMS, `Invalid params: ${message}`);
}

/** A response carrying `result`. */
export function resultResponse(id: RpcId, result: Json): RpcResponse {
  return { jsonrpc: '2.0', result, id };
}

/** A response carrying `error`. */
export function errorResponse(id: RpcId, error: RpcErrorObject): RpcResponse {
  return { jsonrpc: '2.0', error, id };
}

/** True for a value JSON-RPC accepts as an id. */
export function isRpcId(value: unknown): value is RpcId {
  return value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

/**
 * Checks one element of a request (or of a batch): a request, or the -32600 error to answer with,
 * and the id to answer it under (null when the id itself is unusable).
 */
export function checkRequest(value: unknown): { ok: true; request: RpcRequest } | { ok: false; error: RpcError; id: RpcId } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: new RpcError(RPC_CODES.INVALID_REQUEST, 'Invalid Request: expected a JSON object'), id: null };
  }
  const message = value as Record<string, unknown>;
  const id = isRpcId(message.id) ? message.id : null;
  const invalid = (why: string) => ({ ok: false as const, error: new RpcError(RPC_CODES.INVALID_REQUEST, `Invalid Request: ${why}`), id });
  if (message.jsonrpc !== '2.0') return invalid('"jsonrpc" must be "2.0"');
  if (typeof message.method !== 'string' || !message.method) return invalid('"method" must be a non-empty string');
  if ('id' in message && !isRpcId(message.id)) return invalid('"id" must be a string, a number or null');
  // `null` params are not JSON-RPC 2.0, but some clients send them for "no params": harmless.
  const params = message.params ?? undefined;
  if (params !== undefined && typeof params !== 'object') return invalid('"params" must be an array or an object');
  const request: RpcRequest = { jsonrpc: '2.0', method: message.method };
  if (params !== undefined) request.params = params as RpcParams;
  if ('id' in message) request.id = message.id as RpcId;
  return { ok: true, request };
}
