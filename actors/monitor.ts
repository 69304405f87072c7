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
import { PulsarTasksError } from '../src/model/errors.js';
import { backendInfo } from '../src/app/queue-api.js';
import { JobRegistry } from '../src/job/registry.js';
import type { TaskStore } from '../src/store/contract.js';
import type { MonitorView, TaskQueue, WorkerView } from '../src/app/taskqueue.js';
import { localStoreClient, shutdownLocalStore, spawnLocalStore, type LocalStoreHandle } from './local-store.js';
import { answerQueueRequest, isQueueRequest } from './queue-protocol.js';
import { assertNever, type MonitorMessage, type WorkerMessage } from './protocol.js';
import { ActorGone, askReply, replyWith, spawnHandler, stopActor, tell, type AnyRef, type TypedRef } from './refs.js';
import { countsAgainstBudget, RestartBudget } from './supervision.js';
import { spawnWorker, type WorkerHandle } from './worker.js';
import { recoverExpired, ResultPurger } from './monitor-upkeep.js';
import { startWorker } from '../src/worker/worker-runtime.js';

/**
 * How long a worker may take to report ready (seconds) when the queue's silence `timeout` is
 * shorter: starting a child and loading its jobs can take seconds on a loaded machine.
 */
const BOOT_TIMEOUT_S = 60;

/** A TaskQueue's workers crashed past their restart budget (the monitor escalates to the arbiter). */
export class RestartBudgetExceeded extends PulsarTasksError {}

/** A monitor's own code (a user hook) failed: the arbiter restarts the monitor. */
export class MonitorCrashed extends PulsarTasksError {}

/** A running TaskQueue monitor. */
export interface TaskQueueMonitor {
  ref: TypedRef<MonitorMessage>;
  app: TaskQueue;
  /** Stops workers (running tasks get the grace period), the tick, the backend and the store. */
  shutdown(): Promise<void>;
  /** Cuts a shutdown short: running tasks are handed back at once (nothing counted). */
  hurry(): void;
}

/** What the arbiter gives a monitor, and how the monitor tells it. */
export interface MonitorOptions {
  /**
   * Told when the workers' restart budget is exceeded, once the monitor stopped: the escalation to
   * the arbiter, which restarts the queue (OTP's supervisor of supervisors).
   */
  onFailure(error: Error): void;
  /** Told when an inline worker's job ignores its timeout (it cannot be killed). */
  onStuck?(workerId: string, taskId: string): void;
  /**
   * local:// only: a LocalStore the arbiter owns, so that the queued tasks outlive a restart of
   * this monitor; the monitor neither spawns nor closes it. Without it, the monitor owns one.
   */
  localStore?: LocalStoreHandle;
}

/**
 * Starts the monitor of `app` under `parent`. Rejects (nothing left running) when the jobs do not
 * load or the backend URL is wrong.
 */
export async function startTaskQueueMonitor(app: TaskQueue, parent: AnyRef, options: MonitorOptions): Promise<TaskQueueMonitor> {
  const onFailure = (error: Error) => options.onFailure(error);
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
  let localStore: LocalStoreHandle | null = options.localStore ?? null;
  const ownsLocalStore = !options.localStore;
  // Assigned once the monitor's actor (the store's parent) exists; the closures above read it later.
  // eslint-disable-next-line prefer-const
  let backend: TaskBackend;

  const views = (): WorkerView[] => [...workers.values()].map((w) => w.view);
  const view: MonitorView = { name: s.name, get backend() { return backend; }, workers: views };

  const spawnOne = () => {
    const id = `${s.name}-w${++seq}-${randomBytes(3).toString('hex')}`;
    const handle = spawnWorker({
      id,
      mode: s.concurrency,
      settings: s,
      registry,
      pollTimeout,
      heartbeatMs,
      monitor: ref,
      localStore: localStore?.ref ?? null,
      store: backend.store,
    });
    workers.set(id, handle);
    log.debug(`spawned worker ${id} (${s.concurrency}, pid ${handle.view.pid ?? '?'})`);
  };

  let lostByWorkers = 0;

  const info = async (): Promise<JsonObject> => ({
    name: s.name,
    concurrency: s.concurrency,
    workers: [...workers.values()].map(({ view: w, lastHeartbeat }) =>
      app.workerInfo(w, {
        id: w.id,
        concurrency: w.concurrency,
        pid: w.pid,
        thread: w.threadId,
        running: w.running,
        processed: w.processed,
        lost: w.lost,
        age: Math.round((Date.now() - w.startedAt) / 100) / 10,
        last_heartbeat: lastHeartbeat / 1000,
      }),
    ),
    monitor_consumes: s.workers === 0,
    restarts: budget.used,
    // Deliveries this queue's workers lost to another (fenced-off writes), since the monitor started.
    lost: lostByWorkers + (backend.runtime?.lost ?? 0),
    backend: { ...backendInfo(backend), tasks_queued: await backend.numTasks().catch(() => null) },
  });

  const workerExited = (workerId: string, reason: Parameters<typeof countsAgainstBudget>[0], detail: string) => {
    const handle = workers.get(workerId);
    if (!handle) return;
    workers.delete(workerId);
    const line = `worker ${workerId} (pid ${handle.view.pid ?? '?'}) exited: ${reason}, ${detail}`;
    if (countsAgainstBudget(reason)) log.warn(line);
    else log.info(line);
    if (reason === 'shutdown') return;
    // A lost worker's tasks go back to the queue now, not when their leases expire (also while
    // stopping); only those it had started are charged a redelivery. (A worker stopped on purpose,
    // or killed for a timeout, handed its tasks back already: nothing is left to recover.)
    backend.store
      .recover({ maxRedeliveries: s.maxRedeliveries, worker: workerId })
      .then((r) => {
        if (r.requeued.length) log.warn(`requeued ${r.requeued.length} task(s) of lost worker ${workerId}`);
        if (r.failed.length) log.error(`${r.failed.length} task(s) of lost worker ${workerId} failed: redelivered too often`);
        if (r.returned.length) log.info(`returned ${r.returned.length} unstarted task(s) of lost worker ${workerId} to the queue`);
      })
      .catch((err: unknown) => !stopping && log.error(`could not recover tasks of ${workerId}: ${String(err)}`));
    if (stopping) return; // nothing is respawned while stopping
    if (countsAgainstBudget(reason) && !budget.spend()) {
      const error = new RestartBudgetExceeded(
        `TaskQueue "${s.name}" failed: restart budget exceeded (more than ${s.restartIntensity} worker restarts in ${s.restartPeriod}s; last: ${detail})`,
      );
      // Escalated: the arbiter says so at ERROR and restarts the queue with a back-off.
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
        handle.ready = true;
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
        lostByWorkers += Math.max(0, message.lost - handle.view.lost);
        handle.view.lost = message.lost;
        break;
      }
      case 'worker_exit':
        workerExited(message.workerId, message.reason, message.detail);
        break;
      case 'worker_stuck':
        options.onStuck?.(message.workerId, message.taskId);
        break;
      case 'hurry':
        hurry();
        break;
      case 'shutdown':
        replyWith(message.replyTo, () => shutdown().then(() => true as const));
        break;
      default:
        assertNever(message);
    }
  };

  /**
   * A fault in the monitor's own code (its mailbox handler, a user hook): it stops, and the arbiter
   * restarts it one-for-one, with its back-off and policy (the escalation path of a crash).
   */
  const crash = (where: string, err: unknown) => {
    if (stopping) return;
    const error = new MonitorCrashed(`TaskQueue "${s.name}": ${where} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    void shutdown().finally(() => onFailure(error));
  };

  const ref = spawnHandler<MonitorMessage>(parent, `monitor-${s.name}`, (message) => {
    try {
      receive(message);
    } catch (err) {
      crash(`the monitor, on a ${message.type} message,`, err);
    }
  });

  let store: TaskStore;
  try {
    if (scheme === 'local') {
      localStore ??= spawnLocalStore(ref, s.name);
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
  const purger = new ResultPurger(backend.store, s.resultTtl, log, () => stopping !== null);

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
      // A worker still starting (loading its jobs, on a loaded machine) is not silent yet.
      const limit = handle.ready ? s.timeout : Math.max(s.timeout, BOOT_TIMEOUT_S);
      if (now - handle.lastHeartbeat > limit * 1000) {
        const what = handle.ready ? 'silent' : 'not started';
        log.warn(`worker ${id} ${what} for more than ${limit}s: replacing it`);
        handle.lastHeartbeat = now;
        tell(handle.ref, { type: 'kill', reason: 'unresponsive', detail: `${what} for more than ${limit}s` });
      }
    }
    recoverExpired(backend.store, s.maxRedeliveries, log);
    purger.run();
    Promise.resolve()
      .then(() => app.monitorTask(view))
      .catch((err: unknown) => crash('the monitorTask hook', err));
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
      if (localStore && ownsLocalStore) await shutdownLocalStore(localStore).catch(() => undefined);
      app.attach(null);
      stopActor(ref);
      log.info(`taskqueue ${s.name} stopped`);
    })();
    return stopping;
  };

  /** The id the monitor's own runtime pulls as (workers: 0). */
  let selfWorker: string | null = null;
  /** Stops now (a second Ctrl-C): each worker hands its tasks back and its child is killed. */
  const hurry = () => {
    if (!stopping) void shutdown();
    log.warn(`stopping ${s.name} now: running tasks are handed back to the queue`);
    for (const handle of workers.values()) tell(handle.ref, { type: 'kill', reason: 'shutdown', detail: 'stopped at once' });
    // The monitor's own runtime cannot be hurried: hand its tasks back (its late writes are fenced off).
    if (selfWorker) void backend.store.release(selfWorker).catch((err: unknown) => log.error(`could not hand tasks back: ${String(err)}`));
  };

  if (s.workers === 0) {
    selfWorker = `${s.name}-monitor-${randomBytes(3).toString('hex')}`;
    startWorker(backend, { id: selfWorker, concurrency: 'monitor', pid: process.pid }, { stuckGrace: s.stuckGrace });
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
  return { ref, app, shutdown, hurry };
}
