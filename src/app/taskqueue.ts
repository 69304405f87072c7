/**
 * TaskQueue: the application an Arbiter runs (SPEC §6): its settings, its jobs, pulsar's hooks,
 * and, once started, its `backend`.
 */
import { taskLimits } from '../model/limits.js';
import '../backends/index.js';
import { intSetting, parseBackendUrl, secondsSetting, withShards } from '../store/schemes.js';
import { ImproperlyConfigured } from '../model/errors.js';
import type { JobClass } from '../job/job.js';
import type { JsonObject } from '../model/json.js';
import type { TaskBackend } from '../producer/backend.js';
import { metricsHub } from '../metrics/hub.js';
import type { QueueRefMessage } from '../../actors/protocol.js';
import type { TypedRef } from '../../actors/refs.js';

export type Concurrency = 'process' | 'thread' | 'inline';
export const CONCURRENCY_MODES: readonly Concurrency[] = ['process', 'thread', 'inline'];

/** What hooks see of a monitor. */
export interface MonitorView {
  name: string;
  backend: TaskBackend;
  workers(): WorkerView[];
}

/** What hooks see of a worker. */
export interface WorkerView {
  id: string;
  concurrency: Concurrency | 'monitor';
  pid: number | null;
  threadId: number | null;
  running: number;
  processed: number;
  /** Tasks this worker lost to another delivery (its writes were fenced off). */
  lost: number;
  startedAt: number;
}

/** Settings of a TaskQueue; every key has a CLI flag (SPEC §6). */
export interface TaskQueueConfig {
  name?: string;
  /** Job modules: paths, or `folder/*`. Required for process and thread workers. */
  taskPaths?: string[];
  /** Job classes given directly (inline workers or workers: 0 only, unless taskPaths too). */
  jobs?: JobClass[];
  /** `local://` (default) or `redis://...`. */
  taskBackend?: string;
  /**
   * Hash tags one redis queue is spread over (default 1, or the URL's `?shards=`): set into the
   * backend URL, so every process of the app spreads it alike. See the README's "Scaling out".
   */
  shards?: number;
  /** Tasks one worker runs at once (default 5). */
  concurrentTasks?: number;
  /** Queue periodic jobs from the monitor's tick. */
  schedulePeriodic?: boolean;
  /** Worker count (default 1; 0: the monitor runs tasks itself). */
  workers?: number;
  concurrency?: Concurrency;
  /** A worker that processed this many tasks is replaced (0: never). */
  maxRequests?: number;
  /** Seconds a worker may stay silent before it is replaced (default 600). */
  timeout?: number;
  /** Seconds a worker owns a pulled task without renewing (default 30). */
  leaseTimeout?: number;
  /** Redeliveries of a task whose worker was lost (default 1). */
  maxRedeliveries?: number;
  /** Seconds a finished task (and its result) is kept before the tick deletes it (default 86400; 0: forever). */
  resultTtl?: number;
  /** Bytes of JSON kwargs and meta of one task may hold together (default 256 KiB). */
  maxArgumentBytes?: number;
  /** Bytes of JSON the result of one task may hold (default 1 MiB); a larger result ends FAILURE. */
  maxResultBytes?: number;
  /** Seconds running tasks get to finish when the queue stops (default 10). */
  shutdownGrace?: number;
  /** Seconds a job may run past its timeout before its process or thread worker is killed (default 5). */
  stuckGrace?: number;
  /** Restart budget: at most `restartIntensity` unexpected restarts per `restartPeriod` s. */
  restartIntensity?: number;
  restartPeriod?: number;
  /** Working directory task paths are relative to (default process.cwd()). */
  cwd?: string;
  /** Hooks (pulsar's), called in the arbiter. */
  monitorStart?: (monitor: MonitorView) => void | Promise<void>;
  monitorTask?: (monitor: MonitorView) => void | Promise<void>;
  workerStart?: (worker: WorkerView) => void;
  workerStopping?: (worker: WorkerView) => void;
  workerInfo?: (worker: WorkerView, info: JsonObject) => JsonObject | void;
}

/** Settings with every default filled in. */
export type TaskQueueSettings = Required<Omit<TaskQueueConfig, 'monitorStart' | 'monitorTask' | 'workerStart' | 'workerStopping' | 'workerInfo'>>;

/** A task queue application. Add it to an Arbiter; once started, use `backend`. */
export class TaskQueue {
  readonly kind = 'taskqueue' as const;
  readonly settings: TaskQueueSettings;
  private _backend: TaskBackend | null = null;
  private _ref: TypedRef<QueueRefMessage> | null = null;

  constructor(readonly config: TaskQueueConfig = {}) {
    this.settings = normalizeSettings(config);
  }

  get name(): string {
    return this.settings.name;
  }

  /** The backend in the arbiter: queue, read, wait, listen. Set once the arbiter started. */
  get backend(): TaskBackend {
    if (!this._backend) throw new ImproperlyConfigured(`TaskQueue "${this.name}" is not started: add it to an Arbiter and await arbiter.start()`);
    return this._backend;
  }

  /** Set by the monitor. */
  attach(backend: TaskBackend | null): void {
    this._backend = backend;
    if (!backend) metricsHub().untrack(this.name);
  }

  /**
   * The queue's ref for actor applications (the public protocol and subscriptions; it stays valid
   * across monitor restarts). Set once the arbiter started.
   */
  get ref(): TypedRef<QueueRefMessage> {
    if (!this._ref) throw new ImproperlyConfigured(`TaskQueue "${this.name}" is not started: add it to an Arbiter and await arbiter.start()`);
    return this._ref;
  }

  /** Set by the arbiter. */
  attachRef(ref: TypedRef<QueueRefMessage> | null): void {
    this._ref = ref;
  }

  /** Called once its monitor is up. */
  async monitorStart(monitor: MonitorView): Promise<void> {
    metricsHub().track(monitor);
    await this.config.monitorStart?.(monitor);
  }
  /** Called on every monitor tick. */
  async monitorTask(monitor: MonitorView): Promise<void> {
    await this.config.monitorTask?.(monitor);
  }
  /** Called when a worker is ready. */
  workerStart(worker: WorkerView): void {
    metricsHub().workerStarted(this.name, this.settings.workers);
    this.config.workerStart?.(worker);
  }
  /** Called when a worker is asked to stop. */
  workerStopping(worker: WorkerView): void {
    this.config.workerStopping?.(worker);
  }
  /** Adds to a worker's info. */
  workerInfo(worker: WorkerView, info: JsonObject): JsonObject {
    return this.config.workerInfo?.(worker, info) ?? info;
  }
}

/** Checks every setting and fills in defaults; throws ImproperlyConfigured naming the key. */
export function normalizeSettings(config: TaskQueueConfig): TaskQueueSettings {
  const name = config.name ?? 'taskqueue';
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9_.-]*$/i.test(name)) {
    throw new ImproperlyConfigured(`name must be letters, digits, '_', '.' or '-', got ${JSON.stringify(name)}`);
  }
  const taskPaths = config.taskPaths ?? [];
  if (!Array.isArray(taskPaths) || taskPaths.some((p) => typeof p !== 'string')) {
    throw new ImproperlyConfigured('taskPaths must be an array of module paths');
  }
  const concurrency = config.concurrency ?? 'process';
  if (!CONCURRENCY_MODES.includes(concurrency)) {
    throw new ImproperlyConfigured(`concurrency must be one of ${CONCURRENCY_MODES.join(', ')}, got ${JSON.stringify(concurrency)}`);
  }
  const taskBackend = withShards(config.taskBackend ?? 'local://', config.shards);
  const { url: backendUrl } = parseBackendUrl(taskBackend);
  const settings: TaskQueueSettings = {
    name,
    taskPaths,
    jobs: config.jobs ?? [],
    taskBackend,
    shards: intSetting(backendUrl.searchParams.get('shards') ?? 1, 'shards', 1),
    concurrentTasks: intSetting(config.concurrentTasks ?? 5, 'concurrentTasks', 1),
    schedulePeriodic: Boolean(config.schedulePeriodic),
    workers: intSetting(config.workers ?? 1, 'workers', 0),
    concurrency,
    maxRequests: intSetting(config.maxRequests ?? 0, 'maxRequests', 0),
    timeout: secondsSetting(config.timeout ?? 600, 'timeout', 0.1),
    leaseTimeout: secondsSetting(config.leaseTimeout ?? 30, 'leaseTimeout', 0.1),
    maxRedeliveries: intSetting(config.maxRedeliveries ?? 1, 'maxRedeliveries', 0),
    shutdownGrace: secondsSetting(config.shutdownGrace ?? 10, 'shutdownGrace', 0),
    stuckGrace: secondsSetting(config.stuckGrace ?? 5, 'stuckGrace', 0),
    resultTtl: secondsSetting(config.resultTtl ?? 86_400, 'resultTtl', 0),
    restartIntensity: intSetting(config.restartIntensity ?? 10, 'restartIntensity', 0),
    restartPeriod: secondsSetting(config.restartPeriod ?? 60, 'restartPeriod', 0.1),
    cwd: config.cwd ?? process.cwd(),
    ...taskLimits({ maxArgumentBytes: config.maxArgumentBytes, maxResultBytes: config.maxResultBytes }),
  };
  if (settings.jobs.length && !settings.taskPaths.length && settings.workers > 0 && settings.concurrency !== 'inline') {
    throw new ImproperlyConfigured(
      `TaskQueue "${name}": jobs given as classes cannot reach ${settings.concurrency} workers; give taskPaths, or use concurrency 'inline' or workers: 0`,
    );
  }
  return settings;
}
