/**
 * The Arbiter: the root of the supervision tree. Runs one monitor per application (TaskQueues,
 * then services such as RpcServer), restarts a TaskQueue whose workers crashed past their budget
 * (with an increasing back-off), stops them in reverse order, and stops on SIGINT/SIGTERM.
 * `spawnArbiter` roots the tree under an actor of an existing nact application instead.
 */
import { EventEmitter } from 'node:events';
import type { AppContext, ServiceApp } from '../src/app/app.js';
import { BackendUnavailable, ImproperlyConfigured } from '../src/model/errors.js';
import type { JsonObject } from '../src/model/json.js';
import { getLogger } from '../src/infra/logger.js';
import { parseBackendUrl } from '../src/store/schemes.js';
import { TaskQueue } from '../src/app/taskqueue.js';
import { shutdownLocalStore, spawnLocalStore, type LocalStoreHandle } from './local-store.js';
import { startTaskQueueMonitor, type TaskQueueMonitor } from './monitor.js';
import { monitorQueueApi } from './queue-protocol.js';
import type { ArbiterNotice, QueueRefMessage } from './protocol.js';
import { spawnQueueRef, type QueueRefHandle } from './queue-ref.js';
import { errorToWire } from '../src/model/error-codec.js';
import { actorName, isAlive, spawnHandler, startSystem, stopActor, tell, type AnyRef, type TypedRef } from './refs.js';
import { startServiceMonitor, type ServiceMonitor } from './service-monitor.js';
import { StopSignals } from './stop-signals.js';
import { DEFAULT_QUEUE_RESTARTS, QueueRestarts, type QueueRestartPolicy } from './supervision.js';

export type Application = TaskQueue | ServiceApp;

export interface ArbiterOptions {
  /** Name of the nact system (or of the arbiter actor under a parent). */
  name?: string;
  /**
   * Stop gracefully on SIGINT/SIGTERM, then exit (default: true unless under a parent). A second
   * signal stops at once, handing running tasks back to the queue (exit code 130).
   */
  handleSignals?: boolean;
  /** Root the tree under this actor; the arbiter stops when it does. */
  parent?: AnyRef;
  /** How a failed TaskQueue is restarted (default: 5 restarts per 10 min, back-off 1 s → 60 s). */
  queueRestarts?: Partial<QueueRestartPolicy>;
  /**
   * The actor told (ArbiterNotice messages) when a TaskQueue restarts or is given up; default:
   * `parent`, when the arbiter is embedded.
   */
  supervisor?: TypedRef<ArbiterNotice>;
}

/** The arbiter gave up on a TaskQueue: it failed more often than its restart policy allows. */
export class ApplicationFailed extends ImproperlyConfigured {}

/**
 * The root actor of pulsar-tasks. Events: `app_restarting` (name, error, { attempt, delayMs }),
 * `app_restarted` (name), `app_failed` (name, error: the arbiter gave up on it), `task_stuck`
 * (name, workerId, taskId: an inline job ignores its timeout), `stopped`.
 */
export class Arbiter extends EventEmitter {
  readonly name: string;
  private readonly apps: Application[] = [];
  private readonly queues = new Map<string, TaskQueueMonitor>();
  private readonly services = new Map<string, ServiceMonitor>();
  private readonly localStores = new Map<string, LocalStoreHandle>();
  private readonly queueRefs = new Map<string, QueueRefHandle>();
  private readonly restarts = new Map<string, QueueRestarts>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private readonly policy: QueueRestartPolicy;
  private system: AnyRef | null = null;
  private root: AnyRef | null = null;
  private started = false;
  private stopping: Promise<void> | null = null;
  private failure: Error | null = null;
  private joiners: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private watchdog: NodeJS.Timeout | null = null;
  private readonly signals: StopSignals;
  private readonly log = getLogger('pulsar.arbiter');
  private readonly startedAt = Date.now();

  constructor(private readonly options: ArbiterOptions = {}) {
    super();
    this.name = actorName(options.name ?? 'pulsar-tasks');
    this.policy = { ...DEFAULT_QUEUE_RESTARTS, ...options.queueRestarts };
    this.signals = new StopSignals(
      {
        stop: () => this.stop(),
        hurry: () => {
          for (const monitor of this.queues.values()) monitor.hurry();
        },
        failed: () => this.failure !== null,
      },
      this.log,
    );
  }

  /** Adds an application before `start()`; names are unique in an arbiter. */
  add<A extends Application>(app: A): A {
    if (this.started) throw new ImproperlyConfigured(`Cannot add "${app.name}": the arbiter is already started`);
    if (this.apps.some((a) => a.name === app.name)) throw new ImproperlyConfigured(`Two applications are named "${app.name}"`);
    this.apps.push(app);
    return app;
  }

  /** The TaskQueue of that name. */
  taskQueue(name = 'taskqueue'): TaskQueue {
    const app = this.apps.find((a) => a.name === name);
    if (!(app instanceof TaskQueue)) throw new ImproperlyConfigured(`No TaskQueue named "${name}" in this arbiter`);
    return app;
  }

  /** Starts every application; rejects, with nothing left running, if one cannot start. */
  async start(): Promise<void> {
    if (this.started) throw new ImproperlyConfigured('The arbiter is already started');
    this.started = true;
    this.failure = null;
    if (this.options.parent) {
      this.root = spawnHandler(this.options.parent, `arbiter-${this.name}`, () => undefined);
      this.watchdog = setInterval(() => {
        if (this.root && !isAlive(this.root) && !this.stopping) {
          this.log.info('parent actor stopped: stopping the arbiter');
          void this.stop();
        }
      }, 500);
    } else {
      this.system = startSystem(this.name);
      this.root = spawnHandler(this.system, 'arbiter', () => undefined);
    }
    try {
      for (const app of this.apps) {
        if (!(app instanceof TaskQueue)) continue;
        const handle = spawnQueueRef(this.root, app.name);
        this.queueRefs.set(app.name, handle);
        app.attachRef(handle.ref);
      }
      for (const app of this.apps) if (app instanceof TaskQueue) await this.startQueue(app);
      for (const app of this.apps) {
        if (!(app instanceof TaskQueue)) this.services.set(app.name, await startServiceMonitor(app, this.root, this.context(app)));
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
    if (this.options.handleSignals ?? !this.options.parent) this.signals.install();
  }

  /**
   * Resolves once the arbiter stopped; rejects with ApplicationFailed when it gave up on a
   * TaskQueue (for a host that awaits its queues: nothing fails silently).
   */
  join(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.joiners.push({ resolve, reject }));
  }

  /**
   * The ref of TaskQueue `name` for actor applications: it accepts the public queue protocol and
   * subscriptions (QueueRefMessage), and stays valid across restarts of the queue's monitor.
   */
  queueRef(name = 'taskqueue'): TypedRef<QueueRefMessage> {
    const handle = this.queueRefs.get(name);
    if (!handle) throw new ImproperlyConfigured(this.started ? `No TaskQueue named "${name}" in this arbiter` : `The arbiter is not started: await start() before queueRef("${name}")`);
    return handle.ref;
  }

  /** Tells the supervisor actor, if any. */
  private notify(notice: ArbiterNotice): void {
    const supervisor = this.options.supervisor ?? (this.options.parent as TypedRef<ArbiterNotice> | undefined);
    if (supervisor) tell(supervisor, notice);
  }

  /** The monitor of `app` (and, for local://, its LocalStore, owned here so it outlives restarts). */
  private async startQueue(app: TaskQueue): Promise<void> {
    const root = this.root as AnyRef;
    let localStore = this.localStores.get(app.name);
    if (!localStore && parseBackendUrl(app.settings.taskBackend).scheme === 'local') {
      localStore = spawnLocalStore(spawnHandler(root, `store-${app.name}`, () => undefined), app.name);
      this.localStores.set(app.name, localStore);
    }
    const monitor = await startTaskQueueMonitor(app, root, {
      onFailure: (error) => this.queueFailed(app, error),
      onStuck: (workerId, taskId) => this.emit('task_stuck', app.name, workerId, taskId),
      ...(localStore ? { localStore } : {}),
    });
    this.queues.set(app.name, monitor);
    this.queueRefs.get(app.name)?.attach(monitor.ref, app.backend);
  }

  /** A TaskQueue's monitor escalated: restart it after a back-off, or give up past the policy. */
  private queueFailed(app: TaskQueue, error: Error): void {
    this.queues.delete(app.name);
    this.queueRefs.get(app.name)?.attach(null, null);
    if (this.stopping) return;
    const restarts = this.restarts.get(app.name) ?? new QueueRestarts(this.policy);
    this.restarts.set(app.name, restarts);
    const delayMs = restarts.next();
    if (delayMs === null) {
      const failed = new ApplicationFailed(
        `TaskQueue "${app.name}" failed ${restarts.used} times in ${this.policy.period}s: the arbiter gives up on it (last: ${error.message})`,
        { cause: error },
      );
      this.log.error(failed.message);
      this.failure ??= failed;
      for (const joiner of this.joiners.splice(0)) joiner.reject(failed);
      this.notify({ type: 'pulsar_app_failed', arbiter: this.name, app: app.name, error: errorToWire(failed) });
      this.emit('app_failed', app.name, failed);
      return;
    }
    this.log.error(`${error.message}: restarting TaskQueue "${app.name}" in ${delayMs / 1000}s (restart ${restarts.used} of ${this.policy.intensity} in ${this.policy.period}s)`);
    this.notify({ type: 'pulsar_app_restarting', arbiter: this.name, app: app.name, error: errorToWire(error), attempt: restarts.used, delayMs });
    this.emit('app_restarting', app.name, error, { attempt: restarts.used, delayMs });
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (this.stopping) return;
      this.startQueue(app).then(
        () => {
          this.log.info(`TaskQueue "${app.name}" restarted`);
          this.emit('app_restarted', app.name);
        },
        (err: unknown) => this.queueFailed(app, err instanceof Error ? err : new Error(String(err))),
      );
    }, delayMs);
    this.restartTimers.add(timer);
  }

  private context(app: ServiceApp): AppContext {
    return {
      queue: (name: string) => {
        const monitor = this.queues.get(name);
        if (!monitor) {
          if (this.apps.some((a) => a.name === name && a instanceof TaskQueue)) throw new BackendUnavailable(`TaskQueue "${name}" is restarting`);
          throw new ImproperlyConfigured(`${app.name}: no TaskQueue named "${name}" in this arbiter`);
        }
        return monitorQueueApi(name, monitor.ref);
      },
      queueNames: () => this.apps.filter((a) => a instanceof TaskQueue).map((a) => a.name),
      serverInfo: () => this.info(),
      logger: getLogger(`pulsar.${app.name}`),
    };
  }

  /** The arbiter's info and every application's (RPC `server_info`). */
  async info(): Promise<JsonObject> {
    const apps: JsonObject = {};
    for (const [name, monitor] of this.queues) {
      apps[name] = await monitorQueueApi(name, monitor.ref)
        .info()
        .catch((err: unknown) => ({ error: String(err) }));
    }
    for (const [name, service] of this.services) apps[name] = service.app.info();
    return {
      arbiter: {
        name: this.name,
        pid: process.pid,
        node: process.version,
        uptime: Math.round((Date.now() - this.startedAt) / 1000),
        embedded: Boolean(this.options.parent),
      },
      apps,
    };
  }

  /** Stops services, then TaskQueues (running tasks get their grace period), then the actors. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.watchdog) clearInterval(this.watchdog);
      for (const timer of this.restartTimers) clearTimeout(timer);
      this.restartTimers.clear();
      for (const [name, service] of [...this.services].reverse()) {
        await service.shutdown().catch((err: unknown) => this.log.error(`${name} did not stop cleanly: ${String(err)}`));
      }
      await Promise.all(
        [...this.queues].map(([name, monitor]) =>
          monitor.shutdown().catch((err: unknown) => this.log.error(`${name} did not stop cleanly: ${String(err)}`)),
        ),
      );
      await Promise.all([...this.localStores.values()].map((store) => shutdownLocalStore(store).catch(() => undefined)));
      for (const handle of this.queueRefs.values()) handle.close();
      this.services.clear();
      this.queues.clear();
      this.localStores.clear();
      this.queueRefs.clear();
      this.restarts.clear();
      if (this.root) stopActor(this.root);
      if (this.system) stopActor(this.system);
      this.root = null;
      this.system = null;
      // Signals stay handled until here: a second Ctrl-C during the grace must not kill the process.
      this.signals.remove();
      for (const joiner of this.joiners.splice(0)) joiner.resolve();
      this.emit('stopped');
    })();
    // Once stopped, the arbiter can start again (in the same process).
    const stopping = this.stopping;
    void stopping.then(() => {
      if (this.stopping !== stopping) return;
      this.stopping = null;
      this.started = false;
    });
    return stopping;
  }
}

/** An Arbiter rooted under `parent`, an actor of an existing nact application. */
export function spawnArbiter(parent: AnyRef, options: Omit<ArbiterOptions, 'parent'> & { apps?: Application[] } = {}): Arbiter {
  const arbiter = new Arbiter({ ...options, parent });
  for (const app of options.apps ?? []) arbiter.add(app);
  return arbiter;
}
