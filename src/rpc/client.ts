/**
 * RpcClient: a fetch-based client of RpcServer (and of pulsar's JSON-RPC task API) with typed
 * helpers. JSON-RPC errors are thrown as RpcError; an unreachable server as RpcConnectionError.
 */
import { secondsText } from '../infra/text.js';
import type { JobListEntry } from '../producer/backend.js';
import { PulsarTasksError } from '../model/errors.js';
import type { Json, JsonObject } from '../model/json.js';
import { Task } from '../model/task.js';
import { RpcError, RPC_CODES, type RpcParams, type RpcResponse } from './protocol.js';
import { QUEUE_TASK_RESERVED } from './queue-params.js';

export { RpcError, RPC_CODES } from './protocol.js';

/** Settings of an RpcClient. */
export interface RpcClientOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Milliseconds an ordinary call may take (default: no limit); `waitForTask` is not bounded by it. */
  timeoutMs?: number;
}

/** The server could not be reached at all (refused, unknown host, reset). */
export class RpcConnectionError extends PulsarTasksError {
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`cannot reach the pulsar-tasks server at ${url}: ${describeCause(cause)}`, { cause });
  }
}

/** Filter of `getTasks`, with the server's (pulsar's) param names. */
export interface RpcTaskFilter {
  ids?: string[];
  name?: string;
  /** Status codes or names (`'SUCCESS'`). */
  status?: number | string | (number | string)[];
  from_task?: string;
}

/** Options of `queueTask` (seconds for durations). */
export interface RpcQueueOptions {
  metaData?: JsonObject;
  expiry?: number;
  priority?: number;
  delay?: number;
  /** Epoch seconds, or an ISO 8601 time with its offset. */
  eta?: number | string;
  maxRetries?: number;
  retryDelay?: number;
  timeout?: number;
  idempotencyKey?: string;
}

/** The `options` object of the explicit `queue_task` form. */
export function queueOptionsToWire(options: RpcQueueOptions): JsonObject {
  const wire: JsonObject = {};
  const keys: [keyof RpcQueueOptions, string][] = [
    ['metaData', 'meta_data'], ['expiry', 'expiry'], ['priority', 'priority'], ['delay', 'delay'], ['eta', 'eta'],
    ['maxRetries', 'max_retries'], ['retryDelay', 'retry_delay'], ['timeout', 'timeout'], ['idempotencyKey', 'idempotency_key'],
  ];
  for (const [key, wireKey] of keys) {
    const value = options[key];
    if (value !== undefined) wire[wireKey] = value;
  }
  return wire;
}

/**
 * A wait_for_task call is cut into waits of this many seconds: an HTTP response that takes
 * minutes to start would hit the HTTP client's own header timeout (300 s in Node's fetch).
 */
const WAIT_CHUNK_SECONDS = 60;

/** A JSON-RPC 2.0 client of a pulsar-tasks server. */
export class RpcClient {
  private nextId = 1;

  constructor(
    readonly url: string,
    private readonly options: RpcClientOptions = {},
  ) {}

  /** Calls a method; resolves to its result, rejects RpcError or RpcConnectionError. */
  async call<T extends Json = Json>(method: string, params?: RpcParams, timeoutMs = this.options.timeoutMs): Promise<T> {
    const id = this.nextId++;
    const response = await this.post({ jsonrpc: '2.0', method, ...(params === undefined ? {} : { params }), id }, timeoutMs);
    if (response === null || Array.isArray(response)) throw unexpected(`no response to ${method}`);
    if ('error' in response) throw new RpcError(response.error.code, response.error.message, response.error.data);
    return response.result as T;
  }

  /** Sends a notification: the server runs it and answers nothing. */
  async notify(method: string, params?: RpcParams): Promise<void> {
    await this.post({ jsonrpc: '2.0', method, ...(params === undefined ? {} : { params }) }, this.options.timeoutMs);
  }

  /** Sends many calls in one request; each result in order, or the RpcError of that call. */
  async batch(calls: { method: string; params?: RpcParams }[]): Promise<(Json | RpcError)[]> {
    if (!calls.length) return [];
    const first = this.nextId;
    this.nextId += calls.length;
    const body = calls.map((c, i) => ({ jsonrpc: '2.0', method: c.method, ...(c.params === undefined ? {} : { params: c.params }), id: first + i }));
    const response = await this.post(body, this.options.timeoutMs);
    if (!Array.isArray(response)) {
      if (response && 'error' in response) throw new RpcError(response.error.code, response.error.message, response.error.data);
      throw unexpected('a batch was not answered with a list');
    }
    const byId = new Map(response.map((r) => [r.id, r]));
    return calls.map((_c, i) => {
      const r = byId.get(first + i);
      if (!r) return unexpected(`no response to call ${first + i} of the batch`);
      return 'error' in r ? new RpcError(r.error.code, r.error.message, r.error.data) : r.result;
    });
  }

  /** `'pong'`. */
  ping(): Promise<string> {
    return this.call<string>('ping');
  }

  /** The message, back. */
  echo(message: Json): Promise<Json> {
    return this.call('echo', { message });
  }

  /** The arbiter's and every application's info. */
  serverInfo(): Promise<JsonObject> {
    return this.call<JsonObject>('server_info');
  }

  /** The server's method names. */
  functionsList(): Promise<string[]> {
    return this.call<string[]>('functions_list');
  }

  /** `[name, {doc, doc_syntax, type, can_overlap, ...}]` per job. */
  jobList(jobnames?: string[]): Promise<JobListEntry[]> {
    return this.call<JobListEntry[]>('job_list', jobnames ? { jobnames } : {});
  }

  /** `[name, seconds]`, `[jobnames, null]`, or null when the queue does not schedule. */
  nextScheduledTasks(jobnames?: string[]): Promise<[string, number] | [string[] | null, null] | null> {
    return this.call<[string, number] | [string[] | null, null] | null>('next_scheduled_tasks', jobnames ? { jobnames } : {});
  }

  /**
   * Queues a task; resolves to its id, or null when a non-overlap lock held it back. Sends
   * pulsar's flat form when it can (only `metaData`/`expiry`, no kwarg with a reserved name), the
   * explicit form `{jobname, kwargs, options}` otherwise.
   */
  queueTask(jobname: string, kwargs: JsonObject = {}, options: RpcQueueOptions = {}): Promise<string | null> {
    const wire = queueOptionsToWire(options);
    const onlyPulsar = Object.keys(wire).every((k) => k === 'meta_data' || k === 'expiry');
    const reserved = Object.keys(kwargs).some((k) => QUEUE_TASK_RESERVED.includes(k));
    const params: RpcParams = onlyPulsar && !reserved ? { ...kwargs, jobname, ...wire } : { jobname, kwargs, options: wire };
    return this.call<string | null>('queue_task', params);
  }

  /** A new run of a FAILURE or REVOKED task; resolves to its id (null when a lock held it back). */
  retryTask(id: string): Promise<string | null> {
    return this.call<string | null>('retry_task', { id });
  }

  /** Deletes ended tasks that ended more than `olderThan` seconds ago (of these statuses); resolves to how many. */
  purgeTasks(olderThan = 0, status?: (number | string)[]): Promise<number> {
    return this.call<number>('purge_tasks', { older_than: olderThan, ...(status ? { status } : {}) });
  }

  /** One page of tasks, newest queued first, and the cursor of the next page (null at the end). */
  async listTasks(filter: RpcTaskFilter = {}, page: { limit?: number; cursor?: string | null } = {}): Promise<{ tasks: Task[]; cursor: string | null }> {
    const params = { ...filter, limit: page.limit ?? 100, ...(page.cursor ? { cursor: page.cursor } : {}) } as JsonObject;
    const answer = await this.call<{ tasks: Json[]; cursor: string | null }>('get_tasks', params);
    return { tasks: answer.tasks.map((w) => Task.fromWire(w)), cursor: answer.cursor };
  }

  /** The task, or null if there is no such task. */
  async getTask(id: string): Promise<Task | null> {
    const wire = await this.call('get_task', { id });
    return wire === null ? null : Task.fromWire(wire);
  }

  /** Tasks matching every given field. */
  async getTasks(filter: RpcTaskFilter = {}): Promise<Task[]> {
    const wires = await this.call<Json[]>('get_tasks', filter as JsonObject);
    return wires.map((w) => Task.fromWire(w));
  }

  /**
   * The task once ready (null if there is no such task). Rejects an RpcError of type
   * TaskTimeoutError after `timeout` seconds; without one, waits as long as it takes.
   */
  async waitForTask(id: string, timeout?: number): Promise<Task | null> {
    const deadline = timeout === undefined ? Infinity : Date.now() + timeout * 1000;
    for (;;) {
      const left = (deadline - Date.now()) / 1000;
      const chunk = Math.max(0, Math.min(WAIT_CHUNK_SECONDS, left));
      try {
        const wire = await this.call('wait_for_task', { id, timeout: chunk }, (chunk + 30) * 1000);
        return wire === null ? null : Task.fromWire(wire);
      } catch (err) {
        if (!(err instanceof RpcError && err.type === 'TaskTimeoutError')) throw err;
        if (Date.now() >= deadline) {
          throw new RpcError(err.code, `Task ${id} was not ready after ${secondsText(timeout ?? 0)}`, { type: 'TaskTimeoutError', task_id: id, timeout: timeout ?? null });
        }
      }
    }
  }

  /** Tasks queued and not yet started. */
  numTasks(): Promise<number> {
    return this.call<number>('num_tasks');
  }

  /** A queued task → REVOKED; false if it already started or does not exist. */
  revokeTask(id: string): Promise<boolean> {
    return this.call<boolean>('revoke_task', { id });
  }

  private async post(body: unknown, timeoutMs: number | undefined): Promise<RpcResponse | RpcResponse[] | null> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        // Whole ms: AbortSignal.timeout throws on a fraction (a wait's seconds left × 1000 has one).
        ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(Math.ceil(timeoutMs)) }),
      });
    } catch (err) {
      if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
        throw new RpcError(RPC_CODES.INTERNAL_ERROR, `no answer from ${this.url} within ${timeoutMs} ms`, { type: 'TimeoutError' });
      }
      throw new RpcConnectionError(this.url, err);
    }
    if (res.status === 401) {
      await res.body?.cancel();
      throw new RpcError(RPC_CODES.UNAUTHORIZED, `unauthorized: ${this.url} needs a valid bearer token (--token or PULSAR_TASKS_RPC_TOKEN)`, { http_status: 401 });
    }
    if (res.status === 204) return null;
    const text = await res.text();
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      throw unexpected(`HTTP ${res.status} from ${this.url} is not JSON: ${text.slice(0, 200)}`);
    }
    if (!isResponse(payload) && !(Array.isArray(payload) && payload.every(isResponse))) {
      throw unexpected(`HTTP ${res.status} from ${this.url} is not a JSON-RPC response`);
    }
    return payload;
  }
}

function isResponse(value: unknown): value is RpcResponse {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if ('result' in v) return true;
  const e = v.error as Record<string, unknown> | null | undefined;
  return typeof e === 'object' && e !== null && typeof e.code === 'number' && typeof e.message === 'string';
}

function unexpected(message: string): RpcError {
  return new RpcError(RPC_CODES.INTERNAL_ERROR, `unexpected answer: ${message}`);
}

/** The useful part of a fetch failure: undici hides the socket error in `cause`. */
function describeCause(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  if (e instanceof AggregateError && e.errors.length) e = e.errors[0];
  return e instanceof Error ? e.message || e.name : String(e);
}
