/**
 * The Monitor of a TaskQueue: builds its backend (and, for local://, its LocalStore actor),
 * spawns its workers and replaces those that exit or go silent within a restart budget, answers
 * the public queue protocol, and drives the tick: periodic scheduling armed for the next due run,
 * heartbeats, and recovery of tasks whose lease expired.
 */
import { redactUrl } from '../src/infra/secrets.js';
import { randomBytes } from 'node:crypto';
import { TaskBackend } from '../src/producer/backend.js';
import { createStore, parseBackendUrl } from '../src/store/schemes.js';
import type { JsonObject } from '../src/model/json.js';
import { getLogger } from '../src/infra/logger.js';
import { backendInfo } from '../src/producer/queue-api.js';
import { JobRegistry } from '../src/job/registry.js';
import type { TaskStore } from '../src/store/contract.js';
import type { MonitorView, TaskQueue, WorkerView } from '../src/app/taskqueue.js';
import { localStoreClient, shutdownLocalStore, spawnLocalStore, type LocalStoreHandle } from './local-store.js';
import { answerQueueRequest, isQueueRequest } from './queue-protocol.js';
import { assertNever, type MonitorMessage, type WorkerMessage } from './protocol.js';
import { ActorGone, askReply, replyWith, spawnHandler, stopActor, tell, type AnyRef, type TypedRef } from './refs.js';
import { countsAgainstBudget, RestartBudget } from './supervision.js';
import { spawnWorker, type WorkerHandle } from './worker.js';

/** Tasks deleted per purge call: bounded so the store (one mailbox, one Redis script) stays responsive. */
const PURGE_BATCH = 500;

/** A running TaskQueue monitor. */
export interface TaskQueueMonitor {
  ref: TypedRef<MonitorMessage>;
  app: TaskQueue;
  /** Stops workers (running tasks get the grace period), the tick, the backend and the store. */
  shutdown(): Promise<void>;
}

/**
 * Starts the monitor of `app` under `parent`. Rejects (nothing left running) when the jobs do not
 * load or the backend URL is wrong. `onFailure` is told when the restart budget is exceeded.
 */
export async function startTaskQueueMonitor(app: TaskQueue, parent: AnyRef, onFailure: (error: Error) => void): Promise<TaskQueueMonitor> {
  const s = app.settings;
  const log = getLogger(`pulsar.${s.name}.monitor`);
  const registry = await JobRegistry.load(s.taskPaths, { cwd: s.cwd });
  JobRegistry.fromClasses(s.jobs, registry);
  const { pollTimeout, scheme } = parseBackendUrl(s.taskBackend);

  const workers = new Map<string, WorkerHandle>();
  const budget = new RestartBudget(s.restartIntensity, s.restartPeriod);
  const heartbeatMs = Math.round(Math.min(5000, Math.max(200, (s.timeout * 1000) / 4)));
  const housekeepingMs = Math.round(Math.min(5000, Math.max(100, (s.leaseTimeout * 1000) / 3), Math.max(100, (s.timeout * 1000) / 2)));
  let stopping: Promise<void> | null = null;
  let seq = 0;
  let schedulerTimer: NodeJS.Timeout | null = null;
  let housekeeping: NodeJS.Timeout | null = null;
  let localStore: LocalStoreHandle | null = null;
  // Assigned once the monitor's actor (the store's parent) exists; the closures above read it later.
  // eslint-disable-next-line prefer-const
  let backend: TaskBackend;

  const views = (): WorkerView[] => [...workers.values()].map((w) => w.view);
  const view: MonitorView = { name: s.name, get backend() { return backend; }, workers: views };

  const spawnOne = () => {
    const id = `${s.name}-w${++seq}-${randomBytes(3).toString('hex')}`;
    const handle = spawnWorker({ id, mode: s.concurrency, settings: s, registry, pollTimeout, heartbeatMs, monitor: ref, localStore: localStore?.ref ?? null });
    workers.set(id, handle);
    log.debug(`spawned worker ${id} (${s.concurrency}, pid ${handle.view.pid ?? '?'})`);
  };

  const info = async (): Promise<JsonObject> => ({
    name: s.name,
    concurrency: s.concurrency,
    workers: views().map((w) =>
      app.workerInfo(w, {
        id: w.id,
        concurrency: w.concurrency,
        pid: w.pid,
        thread: w.threadId,
        running: w.running,
        processed: w.processed,
        age: Math.round((Date.now() - w.startedAt) / 100) / 10,
      }),
    ),
    monitor_consumes: s.workers === 0,
    restarts: budget.used,
    backend: { ...backendInfo(backend), tasks_queued: await backend.numTasks().catch(() => null) },
  });

  const workerExited = (workerId: string, reason: Parameters<typeof countsAgainstBudget>[0], detail: string) => {
    const handle = workers.get(workerId);
    if (!handle) return;
    workers.delete(workerId);
    const line = `worker ${workerId} (pid ${handle.view.pid ?? '?'}) exited: ${reason}, ${detail}`;
    if (countsAgainstBudget(reason)) log.warn(line);
    else log.info(line);
    if (stopping || reason === 'shutdown') return;
    // A lost worker's tasks go back to the queue now, not when their leases expire.
    backend.store
      .recover({ nowMs: Date.now(), maxRedeliveries: s.maxRedeliveries, worker: workerId })
      .then((r) => {
        if (r.requeued.length) log.warn(`requeued ${r.requeued.length} task(s) of lost worker ${workerId}`);
        if (r.failed.length) log.error(`${r.failed.length} task(s) of lost worker ${workerId} failed: redelivered too often`);
      })
      .catch((err: unknown) => !stopping && log.error(`could not recover tasks of ${workerId}: ${String(err)}`));
    if (countsAgainstBudget(reason) && !budget.spend()) {
      const error = new Error(
        `TaskQueue "${s.name}" stopped: restart budget exceeded (more than ${s.restartIntensity} worker restarts in ${s.restartPeriod}s; last: ${detail})`,
      );
      log.error(error.message);
      void shutdown().finally(() => onFailure(error));
      return;
    }
    spawnOne();
  };

  const receive = (message: MonitorMessage) => {
    if (isQueueRequest(message)) {
      answerQueueRequest(backend, message, info);
      return;
    }
    switch (message.type) {
      case 'worker_ready': {
        const handle = workers.get(message.workerId);
        if (!handle) break;
        handle.view.pid = message.pid;
        handle.view.threadId = message.threadId ?? null;
        handle.lastHeartbeat = Date.now();
        log.info(`worker ${message.workerId} started (${s.concurrency}, pid ${message.pid}${message.threadId ? `, thread ${message.threadId}` : ''})`);
        app.workerStart(handle.view);
        break;
      }
      case 'worker_heartbeat': {
        const handle = workers.get(message.workerId);
        if (!handle) break;
        handle.lastHeartbeat = Date.now();
        handle.view.running = message.running;
        handle.view.processed = message.processed;
        break;
      }
      case 'worker_exit':
        workerExited(message.workerId, message.reason, message.detail);
        break;
      case 'shutdown':
        replyWith(message.replyTo, () => shutdown().then(() => true as const));
        break;
      default:
        assertNever(message);
    }
  };

  const ref = spawnHandler<MonitorMessage>(parent, `monitor-${s.name}`, receive);

  let store: TaskStore;
  try {
    if (scheme === 'local') {
      localStore = spawnLocalStore(ref, s.name);
      store = localStoreClient(localStore.ref, ref);
    } else {
      store = createStore(s.taskBackend, { name: s.name });
    }
  } catch (err) {
    stopActor(ref);
    throw err;
  }
  backend = new TaskBackend(store, {
    name: s.name,
    url: s.taskBackend,
    registry,
    schedulePeriodic: s.schedulePeriodic,
    concurrentTasks: s.concurrentTasks,
    pollTimeout,
    leaseTimeout: s.leaseTimeout,
    maxRedeliveries: s.maxRedeliveries,
    limits: { maxArgumentBytes: s.maxArgumentBytes, maxResultBytes: s.maxResultBytes },
  });
  app.attach(backend);

  const armScheduler = () => {
    if (!s.schedulePeriodic || stopping) return;
    const delay = backend.nextRun ? Math.max(0, backend.nextRun.toMillis() - Date.now()) : 60_000;
    schedulerTimer = setTimeout(() => {
      backend
        .tick()
        .catch((err: unknown) => log.error(`periodic scheduling failed: ${String(err)}`))
        .finally(armScheduler);
    }, Math.min(delay, 2 ** 31 - 1));
  };

  const housekeep = () => {
    const now = Date.now();
    for (const [id, handle] of workers) {
      if (now - handle.lastHeartbeat > s.timeout * 1000) {
        log.warn(`worker ${id} silent for more than ${s.timeout}s: replacing it`);
        handle.lastHeartbeat = now;
        tell(handle.ref, { type: 'kill', reason: 'unresponsive', detail: `silent for more than ${s.timeout}s` });
      }
    }
    backend.store
      .recover({ nowMs: now, maxRedeliveries: s.maxRedeliveries })
      .then((r) => {
        if (r.requeued.length) log.warn(`requeued ${r.requeued.length} task(s) whose lease expired`);
        if (r.failed.length) log.error(`${r.failed.length} task(s) failed: their workers were lost too often`);
      })
      .catch((err: unknown) => log.debug(`lease recovery failed: ${String(err)}`));
    if (s.resultTtl > 0) void purgeEnded(now - s.resultTtl * 1000);
    Promise.resolve(app.monitorTask(view)).catch((err: unknown) => log.error(`monitorTask hook failed: ${String(err)}`));
  };

  /** Deletes tasks that ended before `beforeMs`, a batch at a time; one purge runs at once. */
  let purging = false;
  const purgeEnded = async (beforeMs: number) => {
    if (purging || !backend.store.purge) return;
    purging = true;
    try {
      let total = 0;
      for (let n = PURGE_BATCH; n === PURGE_BATCH && !stopping; total += n) n = (await backend.store.purge(beforeMs, PURGE_BATCH)) ?? 0;
      if (total) log.debug(`deleted ${total} task(s) that ended more than ${s.resultTtl}s ago`);
    } catch (err) {
      log.debug(`result expiry failed: ${String(err)}`);
    } finally {
      purging = false;
    }
  };

  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      if (schedulerTimer) clearTimeout(schedulerTimer);
      if (housekeeping) clearInterval(housekeeping);
      const graceMs = s.shutdownGrace * 1000;
      await Promise.all(
        [...workers.values()].map(async (handle) => {
          app.workerStopping(handle.view);
          try {
            await askReply<WorkerMessage, true>(handle.ref, (replyTo) => ({ type: 'shutdown', graceMs, replyTo }), graceMs + 15_000, `worker ${handle.view.id} shutdown`);
          } catch (err) {
            if (err instanceof ActorGone) await handle.shutdown(graceMs);
            else {
              log.error(`worker ${handle.view.id} did not stop cleanly: ${String(err)}`);
              tell(handle.ref, { type: 'kill', reason: 'shutdown', detail: 'did not stop in time' });
            }
          }
        }),
      );
      await backend.close(s.shutdownGrace);
      if (localStore) await shutdownLocalStore(localStore).catch(() => undefined);
      app.attach(null);
      stopActor(ref);
      log.info(`taskqueue ${s.name} stopped`);
    })();
    return stopping;
  };

  if (s.workers === 0) {
    backend.start({ id: `${s.name}-monitor-${randomBytes(3).toString('hex')}`, concurrency: 'monitor', pid: process.pid });
  } else {
    for (let i = 0; i < s.workers; i++) spawnOne();
  }
  housekeeping = setInterval(housekeep, housekeepingMs);
  if (s.schedulePeriodic) {
    await backend.tick().catch((err: unknown) => log.error(`periodic scheduling failed: ${String(err)}`));
    armScheduler();
  }
  await app.monitorStart(view);
  log.info(`taskqueue ${s.name} up: ${s.workers} ${s.concurrency} worker(s), backend ${redactUrl(s.taskBackend)}, jobs: ${registry.names().join(', ') || 'none'}`);
  return { ref, app, shutdown };
}
