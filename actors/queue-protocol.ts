/**
 * The public protocol of a TaskQueue monitor: how the monitor answers each request, and a
 * QueueApi that other applications (RpcServer) use to send them.
 */
import type { QueueApi } from '../src/app/app.js';
import type { TaskBackend } from '../src/producer/backend.js';
import type { JsonObject } from '../src/model/json.js';
import type { JobListEntry } from '../src/producer/backend.js';
import type { WireTask } from '../src/model/task.js';
import { Task } from '../src/model/task.js';
import { runOperation, type OperationResults, type QueueOperation } from '../src/producer/operations.js';
import { assertNever, type MonitorMessage, type QueueRequest } from './protocol.js';
import { askReply, replyWith, type TypedRef } from './refs.js';

const REQUEST_TYPES = new Set<string>([
  'queue_task', 'queue_tasks', 'get_task', 'get_tasks', 'wait_for_task', 'num_tasks', 'revoke_task', 'job_list', 'next_scheduled', 'info', 'operation',
]);

/** True for a message of the public protocol. */
export function isQueueRequest<M extends { type: string }>(message: M | QueueRequest): message is QueueRequest {
  return REQUEST_TYPES.has(message.type);
}

/** Answers one request from the backend; never throws, never holds the mailbox. */
export function answerQueueRequest(backend: TaskBackend, message: QueueRequest, info: () => Promise<JsonObject>): void {
  switch (message.type) {
    case 'queue_task':
      return replyWith(message.replyTo, () => backend.queueTask(message.jobName, message.kwargs, message.options));
    case 'queue_tasks':
      return replyWith(message.replyTo, () => backend.queueTasks(message.items));
    case 'get_task':
      return replyWith(message.replyTo, async () => (await backend.getTask(message.id))?.toWire() ?? null);
    case 'get_tasks':
      return replyWith(message.replyTo, async () => (await backend.getTasks(message.filter)).map((t) => t.toWire()));
    case 'wait_for_task':
      return replyWith(message.replyTo, async () => (await backend.waitForTask(message.id, message.timeout))?.toWire() ?? null);
    case 'num_tasks':
      return replyWith(message.replyTo, () => backend.numTasks());
    case 'revoke_task':
      return replyWith(message.replyTo, () => backend.revokeTask(message.id));
    case 'job_list':
      return replyWith(message.replyTo, async () => backend.jobList(message.jobNames));
    case 'next_scheduled':
      return replyWith(message.replyTo, async () => backend.nextScheduled(message.jobNames));
    case 'info':
      return replyWith(message.replyTo, info);
    case 'operation':
      return replyWith(message.replyTo, () => runOperation(backend, message.operation));
    default:
      assertNever(message);
  }
}

type NextScheduled = [string, number] | [string[] | null, null] | null;

const ASK_MS = 30_000;
/** The longest wait_for_task without a timeout (nact needs a bound). */
const FOREVER_MS = 24 * 3600 * 1000;

/** A QueueApi that sends the public protocol's messages to a monitor. */
export function monitorQueueApi(name: string, ref: TypedRef<MonitorMessage>): QueueApi {
  const what = (op: string) => `taskqueue ${name} ${op}`;
  return {
    name,
    queueTask: (jobName, kwargs, options) =>
      askReply<MonitorMessage, string | null>(ref, (replyTo) => ({ type: 'queue_task', jobName, kwargs, options, replyTo }), ASK_MS, what('queue_task')),
    queueTasks: (items) => askReply<MonitorMessage, (string | null)[]>(ref, (replyTo) => ({ type: 'queue_tasks', items, replyTo }), ASK_MS, what('queue_tasks')),
    getTask: async (id) => {
      const wire = await askReply<MonitorMessage, WireTask | null>(ref, (replyTo) => ({ type: 'get_task', id, replyTo }), ASK_MS, what('get_task'));
      return wire ? Task.fromWire(wire) : null;
    },
    getTasks: async (filter) =>
      (await askReply<MonitorMessage, WireTask[]>(ref, (replyTo) => ({ type: 'get_tasks', filter, replyTo }), ASK_MS, what('get_tasks'))).map((w) => Task.fromWire(w)),
    waitForTask: async (id, timeout) => {
      const ms = timeout === undefined || timeout === null ? FOREVER_MS : Number(timeout) * 1000 + ASK_MS;
      const wire = await askReply<MonitorMessage, WireTask | null>(ref, (replyTo) => ({ type: 'wait_for_task', id, timeout, replyTo }), ms, what('wait_for_task'));
      return wire ? Task.fromWire(wire) : null;
    },
    numTasks: () => askReply<MonitorMessage, number>(ref, (replyTo) => ({ type: 'num_tasks', replyTo }), ASK_MS, what('num_tasks')),
    revokeTask: (id) => askReply<MonitorMessage, boolean>(ref, (replyTo) => ({ type: 'revoke_task', id, replyTo }), ASK_MS, what('revoke_task')),
    jobList: (jobNames) => askReply<MonitorMessage, JobListEntry[]>(ref, (replyTo) => ({ type: 'job_list', jobNames, replyTo }), ASK_MS, what('job_list')),
    nextScheduled: (jobNames) => askReply<MonitorMessage, NextScheduled>(ref, (replyTo) => ({ type: 'next_scheduled', jobNames, replyTo }), ASK_MS, what('next_scheduled')),
    info: () => askReply<MonitorMessage, JsonObject>(ref, (replyTo) => ({ type: 'info', replyTo }), ASK_MS, what('info')),
    retryTask: (id) => operation<'retry_task'>({ op: 'retry_task', id }),
    purgeTasks: (olderThan, statuses) => operation<'purge_tasks'>({ op: 'purge_tasks', olderThan, ...(statuses ? { statuses } : {}) }),
    lastRuns: () => operation<'last_runs'>({ op: 'last_runs' }),
    listTasks: async (request) => {
      const page = await operation<'list_tasks'>({ op: 'list_tasks', request });
      return { tasks: page.tasks.map((w) => Task.fromWire(w)), cursor: page.cursor };
    },
  };

  async function operation<K extends keyof OperationResults>(op: QueueOperation & { op: K }): Promise<OperationResults[K]> {
    // A purge of many tasks runs in batches: give it the time a long wait gets.
    const ms = op.op === 'purge_tasks' ? FOREVER_MS : ASK_MS;
    return (await askReply<MonitorMessage, unknown>(ref, (replyTo) => ({ type: 'operation', operation: op, replyTo }), ms, what(op.op))) as OperationResults[K];
  }
}
