/**
 * A QueueApi answered directly by a TaskBackend: what a TaskQueue's monitor does with each
 * message of its protocol, and what tests use when no arbiter runs.
 */
import { redactUrl } from '../infra/secrets.js';
import type { QueueApi } from './app.js';
import type { TaskBackend } from '../producer/backend.js';
import type { JsonObject } from '../model/json.js';
import { purgeTasks, retryTask, runOperation } from '../producer/operations.js';

/** The QueueApi of a backend; `info` gives the monitor's info (default: the backend's). */
export function backendQueueApi(backend: TaskBackend, info?: () => Promise<JsonObject>): QueueApi {
  return {
    name: backend.name,
    queueTask: (jobName, kwargs, options) => backend.queueTask(jobName, kwargs, options),
    queueTasks: (items) => backend.queueTasks(items),
    getTask: (id) => backend.getTask(id),
    getTasks: (filter) => backend.getTasks(filter),
    waitForTask: (id, timeout) => backend.waitForTask(id, timeout),
    numTasks: () => backend.numTasks(),
    revokeTask: (id) => backend.revokeTask(id),
    jobList: async (names) => backend.jobList(names),
    nextScheduled: async (names) => backend.nextScheduled(names),
    info: info ?? (async () => backendInfo(backend)),
    retryTask: (id) => retryTask(backend, id),
    purgeTasks: (olderThan, statuses) => purgeTasks(backend, olderThan, statuses),
    lastRuns: () => runOperation(backend, { op: 'last_runs' }) as Promise<JsonObject>,
    listTasks: (request) => backend.listTasks(request),
  };
}

/** What `info` says of a backend. */
export function backendInfo(backend: TaskBackend): JsonObject {
  return {
    name: backend.name,
    url: redactUrl(backend.url),
    jobs: backend.registry.names(),
    schedule_periodic: backend.schedulePeriodic,
    concurrent_tasks: backend.backlog,
    next_run: backend.nextRun ? backend.nextRun.toMillis() / 1000 : null,
  };
}
