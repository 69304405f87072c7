/**
 * The Arbiter: the root of the supervision tree. Runs one monitor per application (TaskQueues,
 * then services such as RpcServer), stops them in reverse order, and stops on SIGINT/SIGTERM.
 * `spawnArbiter` roots the tree under an actor of an existing nact application instead.
 */
import { EventEmitter } from 'node:events';
import type { AppContext, ServiceApp } from '../src/app/app.js';
import { ImproperlyConfigured } from '../src/model/errors.js';
import type { JsonObject } from '../src/model/json.js';
import { getLogger } from '../src/infra/logger.js';
import { TaskQueue } from '../src/app/taskqueue.js';
import { startTaskQueueMonitor, type TaskQueueMonitor } from './monitor.js';
import { monitorQueueApi } from './queue-protocol.js';
import { actorName, isReachable, spawnHandler, startSystem, stopActor, type AnyRef } from './refs.js';
import { startServiceMonitor, type ServiceMonitor } from './service-monitor.js';

export type Application = TaskQueue | ServiceApp;

export interface ArbiterOptions {
  /** Name of the nact system (or of the arbiter actor under a parent). */
  name?: string;
  /** Stop gracefully on SIGINT/SIGTERM, then exit (default: true unless under a parent). */
  handleSignals?: boolean;
  /** Root the tree under this actor; the arbiter stops when it does. */
  parent?: AnyRef;
}

/** The root actor of pulsar-tasks. Events: `app_failed` (name, error), `stopped`. */
export class Arbiter extends EventEmitter {
  readonly name: string;
  private readonly apps: Application[] = [];
  private readonly queues = new Map<string, TaskQueueMonitor>();
  private readonly services = new Map<string, ServiceMonitor>();
  private system: AnyRef | null = null;
  private root: AnyRef | null = null;
  private started = false;
  private stopping: Promise<void> | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private readonly signalHandler = (signal: NodeJS.Signals) => {
    this.log.info(`received ${signal}: stopping gracefully`);
    void this.stop().finally(() => process.exit(0));
  };
  private readonly log = getLogger('pulsar.arbiter');
  private readonly startedAt = Date.now();

  constructor(private readonly options: ArbiterOptions = {}) {
    super();
    this.name = actorName(options.name ?? 'pulsar-tasks');
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
    if (this.options.parent) {
      this.root = spawnHandler(this.options.parent, `arbiter-${this.name}`, () => undefined);
      this.watchdog = setInterval(() => {
        void isReachable(this.root as AnyRef).then((up) => {
          if (!up && !this.stopping) {
            this.log.info('parent actor stopped: stopping the arbiter');
            void this.stop();
          }
        });
      }, 500);
    } else {
      this.system = startSystem(this.name);
      this.root = spawnHandler(this.system, 'arbiter', () => undefined);
    }
    try {
      for (const app of this.apps) {
        if (app instanceof TaskQueue) {
          this.queues.set(app.name, await startTaskQueueMonitor(app, this.root, (error) => this.appFailed(app.name, error)));
        }
      }
      for (const app of this.apps) {
        if (!(app instanceof TaskQueue)) this.services.set(app.name, await startServiceMonitor(app, this.root, this.context(app)));
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
    if (this.options.handleSignals ?? !this.options.parent) {
      process.once('SIGINT', this.signalHandler);
      process.once('SIGTERM', this.signalHandler);
    }
  }

  private appFailed(name: string, error: Error): void {
    this.queues.delete(name);
    if (this.listenerCount('app_failed')) this.emit('app_failed', name, error);
  }

  private context(app: ServiceApp): AppContext {
    return {
      queue: (name: string) => {
        const monitor = this.queues.get(name);
        if (!monitor) throw new ImproperlyConfigured(`${app.name}: no TaskQueue named "${name}" in this arbiter`);
        return monitorQueueApi(name, monitor.ref);
      },
      queueNames: () => [...this.queues.keys()],
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
      process.off('SIGINT', this.signalHandler);
      process.off('SIGTERM', this.signalHandler);
      if (this.watchdog) clearInterval(this.watchdog);
      for (const [name, service] of [...this.services].reverse()) {
        await service.shutdown().catch((err: unknown) => this.log.error(`${name} did not stop cleanly: ${String(err)}`));
      }
      await Promise.all(
        [...this.queues].map(([name, monitor]) =>
          monitor.shutdown().catch((err: unknown) => this.log.error(`${name} did not stop cleanly: ${String(err)}`)),
        ),
      );
      this.services.clear();
      this.queues.clear();
      if (this.root) stopActor(this.root);
      if (this.system) stopActor(this.system);
      this.emit('stopped');
    })();
    return this.stopping;
  }
}

/** An Arbiter rooted under `parent`, an actor of an existing nact application. */
export function spawnArbiter(parent: AnyRef, options: Omit<ArbiterOptions, 'parent'> & { apps?: Application[] } = {}): Arbiter {
  const arbiter = new Arbiter({ ...options, parent });
  for (const app of options.apps ?? []) arbiter.add(app);
  return arbiter;
}
