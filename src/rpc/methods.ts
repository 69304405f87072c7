/**
 * The JSON-RPC methods of RpcServer (SPEC §7), with pulsar's names and params. Each method only
 * reads its params as data and calls the TaskQueue's QueueApi: nothing a client sends is run.
 */
import type { AppContext, QueueApi } from '../app/app.js';
import type { TaskFilter } from '../producer/backend.js';
import type { Json, JsonObject } from '../model/json.js';
import type { QueueOptions } from '../model/options.js';
import type { Task } from '../model/task.js';
import {
  isObject,
  namedParams,
  optionalObject,
  optionalSeconds,
  optionalStatus,
  optionalString,
  optionalStringList,
  requiredString,
} from './params.js';
import { invalidParams, type RpcParams } from './protocol.js';

/** What a method is given besides its params. */
export interface CallContext {
  /** The TaskQueue's API, looked up on each call so a queue the arbiter replaced is found again. */
  queue(): QueueApi;
  /** The arbiter's context (server info). */
  app: AppContext;
  /** Meta data from `taskRequestParameters` for the HTTP request; merged into queued tasks. */
  requestMeta(): JsonObject;
  /**
   * Takes one of the server's slots for requests that wait (`wait_for_task`); throws an RpcError
   * when all are taken. Returns the function that gives it back.
   */
  waitSlot(): () => void;
}

/** The longest `wait_for_task` in seconds, and the wait when none is given. */
export const MAX_WAIT_SECONDS = 300;

/** A method: params in, a JSON result out; throws RpcError or a library error. */
export type RpcMethod = (params: RpcParams | undefined, call: CallContext) => Promise<Json>;

/** Keys of `queue_task` that are not kwargs. */
const QUEUE_TASK_KEYS = ['jobname', 'meta_data', 'expiry'] as const;

const methods = new Map<string, RpcMethod>();

/** Registers a method that takes named (or positional, in this order) params. */
function define(name: string, paramNames: readonly string[], run: (params: JsonObject, call: CallContext) => Promise<Json>): void {
  methods.set(name, (params, call) => run(namedParams(name, params, paramNames), call));
}

define('ping', [], async () => 'pong');

// pulsar's default for a missing message is the empty string.
define('echo', ['message'], async (p) => (p.message === undefined ? '' : p.message));

define('server_info', [], (_p, call) => call.app.serverInfo());

define('functions_list', [], async () => rpcMethodNames());

define('job_list', ['jobnames'], async (p, call) => {
  const entries = await call.queue().jobList(optionalStringList('job_list', p, 'jobnames') ?? null);
  return entries as Json;
});

define('next_scheduled_tasks', ['jobnames'], async (p, call) => {
  const next = await call.queue().nextScheduled(optionalStringList('next_scheduled_tasks', p, 'jobnames') ?? null);
  return next as Json;
});

define('get_task', ['id'], async (p, call) => wireOrNull(await call.queue().getTask(requiredString('get_task', p, 'id'))));

define('get_tasks', ['ids', 'name', 'status', 'from_task'], async (p, call) => {
  const filter: TaskFilter = {};
  const ids = optionalStringList('get_tasks', p, 'ids');
  const name = optionalString('get_tasks', p, 'name');
  const status = optionalStatus('get_tasks', p, 'status');
  const fromTask = optionalString('get_tasks', p, 'from_task');
  if (ids) filter.ids = ids;
  if (name) filter.name = name;
  if (status) filter.status = status;
  if (fromTask) filter.fromTask = fromTask;
  return (await call.queue().getTasks(filter)).map(toWireJson);
});

// Bounded: an HTTP request is no place to wait for hours; clients wait longer by calling again.
define('wait_for_task', ['id', 'timeout'], async (p, call) => {
  const id = requiredString('wait_for_task', p, 'id');
  const timeout = optionalSeconds('wait_for_task', p, 'timeout') ?? MAX_WAIT_SECONDS;
  if (timeout > MAX_WAIT_SECONDS) {
    throw invalidParams(`wait_for_task: "timeout" must be at most ${MAX_WAIT_SECONDS} seconds, got ${timeout} (call again to wait longer)`);
  }
  const release = call.waitSlot();
  try {
    return wireOrNull(await call.queue().waitForTask(id, timeout));
  } finally {
    release();
  }
});

define('num_tasks', [], async (_p, call) => call.queue().numTasks());

// Beyond pulsar: a queued task → REVOKED; false if it started already or does not exist.
define('revoke_task', ['id'], async (p, call) => call.queue().revokeTask(requiredString('revoke_task', p, 'id')));

/**
 * `queue_task`: named params are `jobname`, `meta_data?`, `expiry?` and kwargs for every other
 * key (pulsar's shape); positional params are `[jobname, kwargs?, meta_data?, expiry?]`, which
 * lets kwargs use the reserved names too.
 */
methods.set('queue_task', async (params, call) => {
  let p: JsonObject;
  let kwargs: JsonObject;
  if (Array.isArray(params)) {
    p = namedParams('queue_task', params, ['jobname', 'kwargs', 'meta_data', 'expiry']);
    const given = p.kwargs;
    if (given !== undefined && given !== null && !isObject(given)) throw invalidParams('queue_task: kwargs must be an object of key-valued arguments');
    kwargs = given ?? {};
  } else {
    p = params ?? {};
    // fromEntries defines keys as own data: a `__proto__` key stays a key, never a prototype.
    kwargs = Object.fromEntries(Object.entries(p).filter(([key]) => !(QUEUE_TASK_KEYS as readonly string[]).includes(key)));
  }
  const jobname = requiredString('queue_task', p, 'jobname');
  const options: QueueOptions = {
    // The server's parameters win: a client must not pass itself off as another caller.
    metaParams: { ...(optionalObject('queue_task', p, 'meta_data') ?? {}), ...call.requestMeta() },
  };
  const expiry = optionalSeconds('queue_task', p, 'expiry');
  if (expiry !== undefined) options.expiry = expiry;
  return call.queue().queueTask(jobname, kwargs, options);
});

/** The names of every method, sorted (`functions_list`). */
export function rpcMethodNames(): string[] {
  return [...methods.keys()].sort();
}

/** The method of that name, or undefined. */
export function rpcMethod(name: string): RpcMethod | undefined {
  // A Map, not an object lookup: `__proto__` or `constructor` are never methods.
  return methods.get(name);
}

function toWireJson(task: Task): Json {
  return task.toWire() as unknown as JsonObject;
}

function wireOrNull(task: Task | null): Json {
  return task ? toWireJson(task) : null;
}
