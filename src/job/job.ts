/**
 * Job and PeriodicJob: the classes users extend (SPEC §3).
 */
import type { DateTime, Duration } from 'luxon';
import type { Json, JsonObject } from '../model/json.js';
import { Logger } from '../infra/logger.js';
import type { QueueOptions } from '../model/options.js';
import type { KwargsSchema } from './kwargs-schema.js';

export type JobType = 'regular' | 'periodic';
export type CanOverlap = boolean | ((kwargs: JsonObject) => boolean);

/**
 * A job: a named piece of work, run by a worker for each task queued under its name.
 * Subclass it and implement `run(consumer, kwargs)`.
 */
export abstract class Job {
  /** Keeps the class that declares it out of the registry (not its subclasses). */
  static abstract = true;

  /** The job's name: the class name in lower case unless the class sets it. */
  name: string;
  /** `'regular'` or `'periodic'`. */
  readonly type: JobType = 'regular';
  /** Lag after queueing past which a task that has not started is REVOKED. */
  expires: Duration | null = null;
  /** When false (or a function returning false), equal kwargs do not run twice at once. */
  canOverlap: CanOverlap = true;
  /** Markup of `doc`. */
  docSyntax = 'markdown';
  /** What the job does, shown by `job_list`. */
  doc = '';
  /** Attempts after a failure (beyond pulsar). */
  maxRetries = 0;
  /** Wait between a failure and the next attempt (beyond pulsar). */
  retryDelay: Duration | null = null;
  /** A run longer than this is REVOKED and its signal aborted (beyond pulsar). */
  timeout: Duration | null = null;
  /** Higher runs first (beyond pulsar). */
  priority = 0;
  /**
   * The kwargs the job takes (beyond pulsar): a JSON Schema such as
   * `{ type: 'object', properties: { n: { type: 'number' } }, required: ['n'] }`, or a Standard
   * Schema (a zod or valibot object schema); checked when a task is queued and again before it
   * runs; shown by `job_list`. Null: kwargs are not checked.
   */
  kwargsSchema: KwargsSchema | null = null;

  private _logger?: Logger;

  constructor() {
    this.name = this.constructor.name.toLowerCase();
  }

  /** A child logger named `job.<name>`. */
  get logger(): Logger {
    this._logger ??= new Logger(`job.${this.name}`);
    return this._logger;
  }

  /** Does the work of one task; returns a JSON value or a Promise of one. */
  abstract run(consumer: JobConsumer, kwargs: JsonObject): unknown;

  /** True when a task with these kwargs may run beside another with the same kwargs. */
  overlaps(kwargs: JsonObject): boolean {
    return typeof this.canOverlap === 'function' ? Boolean(this.canOverlap(kwargs)) : this.canOverlap;
  }

  /**
   * Queues another task from inside a running one; its `fromTask` is the current task's id.
   * Resolves to the new id, or null when a non-overlap lock held it back.
   */
  queueTask(
    consumer: JobConsumer,
    jobName: string,
    kwargs: JsonObject = {},
    options: QueueOptions = {},
  ): Promise<string | null> {
    return consumer.backend.queueTask(jobName, kwargs, { ...options, fromTask: consumer.taskId });
  }
}

/**
 * What `Job.run` is given, as the job module sees it: TaskConsumer (src/worker/consumer.ts) is the
 * one implementation, with more (the task, the worker). Declared here so that jobs do not depend
 * on the worker runtime.
 */
export interface JobConsumer {
  /** The id of the running task. */
  readonly taskId: string;
  /** Aborted when the run times out, loses its task, or its worker stops. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Where `queueTask` queues. */
  readonly backend: { queueTask(jobName: string, kwargs?: JsonObject, options?: QueueOptions): Promise<string | null> };
  /** Stores a progress value and broadcasts `task_progress`. */
  progress(value: Json): Promise<void>;
}

/** A job the scheduler queues every `runEvery` (from `anchor` if set), or on a `cron` rule. */
export abstract class PeriodicJob extends Job {
  static override abstract = true;
  override readonly type: JobType = 'periodic';
  /** The period. Required unless `cron` is set. */
  runEvery: Duration | null = null;
  /** Runs fall on `anchor + k·runEvery`. */
  anchor: DateTime | null = null;
  /** A cron rule (5 or 6 fields) instead of runEvery (beyond pulsar). */
  cron: string | null = null;
  /** IANA zone of the cron rule; default UTC. */
  timezone: string | null = null;
}

/** A Job subclass that can be registered. */
export type JobClass = (new () => Job) & { abstract?: boolean; readonly name: string };

/**
 * Brands Job and, by static inheritance, every subclass. `instanceof` is not enough: a job module
 * may extend another instance of this module (one loaded by `require` beside one loaded by
 * `import`, as mocha does under tsx, or a second install of the package).
 */
const JOB_CLASS_BRAND = Symbol.for('pulsar-tasks.JobClass');
Object.defineProperty(Job, JOB_CLASS_BRAND, { value: true });

/** True when `value` is a class that extends Job (Job itself included), from any copy of this module. */
export function isJobClass(value: unknown): value is JobClass {
  return typeof value === 'function' && Reflect.get(value, JOB_CLASS_BRAND) === true;
}

/** True when the class itself (not an ancestor) declares `static abstract = true`. */
export function isAbstractJobClass(cls: object): boolean {
  return Object.prototype.hasOwnProperty.call(cls, 'abstract') && (cls as { abstract?: unknown }).abstract === true;
}
