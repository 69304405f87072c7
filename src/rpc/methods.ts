/**
 * The JSON-RPC methods of RpcServer (SPEC §7), with pulsar's names and params. Each method only
 * reads its params as data and calls the TaskQueue's QueueApi: nothing a client sends is run.
 */
import type { AppContext, QueueApi } from '../app/app.js';
import type { TaskListRequest } from '../producer/backend.js';
import type { Json, JsonObject } from '../model/json.js';
import type { Task } from '../model/task.js';
import { MAX_PAGE_LIMIT } from '../store/contract.js';
import { metricsHub } from '../metrics/hub.js';
import {
  namedParams,
  optionalSeconds,
  optionalStatus,
  optionalString,
  optionalStringList,
  requiredString,
} from './params.js';
import { invalidParams, type RpcParams } from './protocol.js';
import { readQueueTaskParams } from './queue-params.js';

/** What a method is given besides its params. */
export interface CallContext {
  /** The TaskQueue's API, looked up on each call so a queue the arbiter replaced is found again. */
  queue(): QueueApi;
  /** The arbiter's context (server info). */
  app: AppContext;
  /** Meta data from `taskRequestParameters` for the HTTP request; merged into queued tasks. */
  requestMeta(): JsonObject;
  /** Told of every call answered: its method and error code (0: success). */
  observe?(method: string, code: number): void;
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

/**
 * `get_tasks`: pulsar's list of tasks; with `limit` or `cursor`, one page `{tasks, cursor}`
 * (newest queued first; `cursor` null at the end). `text` (in the id, job name or kwargs) and
 * `queued_after` / `queued_before` (epoch seconds) narrow the pages, which may then hold fewer tasks.
 */
define('get_tasks', ['ids', 'name', 'status', 'from_task', 'limit', 'cursor', 'text', 'queued_after', 'queued_before'], async (p, call) => {
  const filter: TaskListRequest = {};
  const text = optionalString('get_tasks', p, 'text');
  if (text) filter.text = text;
  for (const [key, field] of [['queued_after', 'queuedAfter'], ['queued_before', 'queuedBefore']] as const) {
    const v = p[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalidParams(`get_tasks: "${key}" must be a time in epoch seconds`);
    filter[field] = v;
  }
  const searched = text !== undefined || filter.queuedAfter !== undefined || filter.queuedBefore !== undefined;
  const ids = optionalStringList('get_tasks', p, 'ids');
  const name = optionalString('get_tasks', p, 'name');
  const status = optionalStatus('get_tasks', p, 'status');
  const fromTask = optionalString('get_tasks', p, 'from_task');
  if (ids) filter.ids = ids;
  if (name) filter.name = name;
  if (status) filter.status = status;
  if (fromTask) filter.fromTask = fromTask;
  const limit = p.limit;
  const cursor = optionalString('get_tasks', p, 'cursor');
  if ((limit === undefined || limit === null) && cursor === undefined && !searched) return (await call.queue().getTasks(filter)).map(toWireJson);
  if (limit !== undefined && limit !== null && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT)) {
    throw invalidParams(`get_tasks: "limit" must be an integer from 1 to ${MAX_PAGE_LIMIT}`);
  }
  const page = await call.queue().listTasks({ ...filter, ...(typeof limit === 'number' ? { limit } : {}), cursor: cursor ?? null });
  return { tasks: page.tasks.map(toWireJson), cursor: page.cursor };
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

// Beyond pulsar: a new run of a FAILURE or REVOKED task (same kwargs, meta.retry_of = id).
define('retry_task', ['id'], async (p, call) => call.queue().retryTask(requiredString('retry_task', p, 'id')));

// Beyond pulsar: deletes ended tasks that ended more than `older_than` seconds ago (default 0).
define('purge_tasks', ['older_than', 'status'], async (p, call) => {
  const statuses = optionalStatus('purge_tasks', p, 'status');
  return call.queue().purgeTasks(optionalSeconds('purge_tasks', p, 'older_than') ?? 0, statuses);
});

// Beyond pulsar: epoch seconds of each periodic job's last run (the dashboard's periodic jobs).
define('last_runs', [], async (_p, call) => call.queue().lastRuns());

/**
 * Beyond pulsar: the live figures of each TaskQueue whose monitor runs in this process (the
 * dashboard): depth, in flight, oldest waiting age, workers alive, totals since counting
 * started (the first call, or the first scrape of /metrics) and ended tasks per 10 s over the
 * last 15 minutes.
 */
define('queue_stats', [], async (_p, call) => {
  const served = call.queue().name;
  const hub = metricsHub();
  // Counting starts with the first look (the dashboard's), and goes on.
  await hub.keepEnabled();
  const names = [served, ...call.app.queueNames().filter((n) => n !== served)];
  const stats = await Promise.all(
    names.map(async (name): Promise<JsonObject> => {
      const collector = hub.queue(name);
      if (!collector) return { name, depth: await call.app.queue(name).numTasks(), totals: null, series: [] };
      return {
        name,
        depth: await collector.depth(),
        in_flight: collector.inFlight(),
        oldest_waiting: collector.oldestWaitingSeconds(),
        workers_alive: collector.workersAlive(),
        totals: { ...collector.totals } as JsonObject,
        series: collector.series.read().map((b) => ({ ...b, t: b.t / 1000 })),
      };
    }),
  );
  return { served, queues: stats };
});

/** `queue_task`: see queue-params.ts for its three forms and the reserved option names. */
methods.set('queue_task', async (params, call) => {
  const { jobname, kwargs, options } = readQueueTaskParams(params);
  // The server's parameters win: a client must not pass itself off as another caller.
  options.metaParams = { ...(options.metaParams ?? {}), ...call.requestMeta() };
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
