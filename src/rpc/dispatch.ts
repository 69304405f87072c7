/**
 * From a request body to the response body: parse, single or batch, notifications, and the
 * mapping of thrown errors to JSON-RPC error codes.
 */
import type { Json } from '../model/json.js';
import type { RequestErrorLog } from './error-log.js';
import { rpcMethod, type CallContext } from './methods.js';
import { checkRequest, errorResponse, resultResponse, RpcError, RPC_CODES, type RpcResponse } from './protocol.js';

/** Requests in one batch beyond which the whole batch is refused (a bound on work per body). */
export const MAX_BATCH = 1000;

/** The response body: one response, a list (batch), or null when nothing is to be answered. */
export type DispatchResult = RpcResponse | RpcResponse[] | null;

/** Answers a request body. Never throws: every failure is a JSON-RPC error. */
export async function dispatchBody(body: string, call: CallContext, log: RequestErrorLog): Promise<DispatchResult> {
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch (err) {
    call.observe?.('(unparsable)', RPC_CODES.PARSE_ERROR);
    return errorResponse(null, { code: RPC_CODES.PARSE_ERROR, message: `Parse error: ${(err as Error).message}` });
  }
  if (!Array.isArray(payload)) return answer(payload, call, log);
  if (!payload.length) return errorResponse(null, { code: RPC_CODES.INVALID_REQUEST, message: 'Invalid Request: empty batch' });
  if (payload.length > MAX_BATCH) {
    return errorResponse(null, { code: RPC_CODES.INVALID_REQUEST, message: `Invalid Request: a batch holds at most ${MAX_BATCH} requests` });
  }
  const responses = (await Promise.all(payload.map((item) => answer(item, call, log)))).filter((r): r is RpcResponse => r !== null);
  // A batch of notifications only is answered with nothing at all (JSON-RPC 2.0 §6).
  return responses.length ? responses : null;
}

/** Answers one request; null for a notification. Never throws: a batch is answered per item. */
async function answer(value: unknown, call: CallContext, log: RequestErrorLog): Promise<RpcResponse | null> {
  const checked = checkRequest(value);
  if (!checked.ok) {
    call.observe?.('(invalid)', checked.error.code);
    return errorResponse(checked.id, checked.error.toJSON());
  }
  const { request } = checked;
  const notification = !('id' in request);
  const id = request.id ?? null;
  const method = rpcMethod(request.method);
  if (!method) {
    call.observe?.(request.method, RPC_CODES.METHOD_NOT_FOUND);
    return notification ? null : errorResponse(id, { code: RPC_CODES.METHOD_NOT_FOUND, message: `Method not found: ${request.method.slice(0, 100)}` });
  }
  try {
    const result: Json = (await method(request.params, call)) ?? null;
    call.observe?.(request.method, 0);
    return notification ? null : resultResponse(id, result);
  } catch (err) {
    let error: RpcError;
    try {
      error = toRpcError(err);
    } catch {
      error = new RpcError(RPC_CODES.INTERNAL_ERROR, 'Internal error');
    }
    call.observe?.(request.method, error.code);
    if (error.code === RPC_CODES.INTERNAL_ERROR && !isExpected(err)) log.serverError(request.method, err);
    else log.clientError(request.method, { name: error.type ?? error.name, message: error.message });
    return notification ? null : errorResponse(id, error.toJSON());
  }
}

/**
 * Errors that are answers, not faults of the server: not worth an error log line. A backend
 * outage is one: its store logs it once when it starts and once when it ends.
 */
function isExpected(err: unknown): boolean {
  return err instanceof Error && ['TaskNotAvailable', 'TaskTimeoutError', 'BackendUnavailable', 'BackendClosed', 'TaskNotFound', 'TaskNotRetryable', 'InvalidOperation'].includes(err.name);
}

/**
 * The JSON-RPC error for anything a method threw. Library errors are told apart by their stable
 * `name` (they may have crossed an actor mailbox), and keep it as `data.type`. Stacks stay in the
 * server's log.
 */
export function toRpcError(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  if (!(err instanceof Error)) return new RpcError(RPC_CODES.INTERNAL_ERROR, `Internal error: ${String(err)}`);
  const fields = err as Error & { jobName?: unknown; taskId?: unknown; timeoutSeconds?: unknown };
  switch (err.name) {
    case 'TaskNotAvailable':
      return new RpcError(RPC_CODES.INTERNAL_ERROR, err.message, { type: err.name, job: String(fields.jobName ?? '') });
    case 'TaskTimeoutError':
      return new RpcError(RPC_CODES.INTERNAL_ERROR, err.message, {
        type: err.name,
        task_id: String(fields.taskId ?? ''),
        timeout: typeof fields.timeoutSeconds === 'number' ? fields.timeoutSeconds : null,
      });
    case 'InvalidTaskArguments':
    case 'InvalidOperation':
    case 'TaskNotFound':
    case 'TaskNotRetryable':
      return new RpcError(RPC_CODES.INVALID_PARAMS, `Invalid params: ${err.message}`, { type: err.name });
    default:
      return new RpcError(RPC_CODES.INTERNAL_ERROR, `Internal error: ${err.message}`, { type: err.name });
  }
}
