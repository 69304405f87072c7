/**
 * TaskConsumer: what a running job sees of its task, its worker and its backend.
 */
import type { Job } from '../job/job.js';
import type { Logger } from '../infra/logger.js';
import { Task, type WireTask } from '../model/task.js';
import type { TaskBackend } from '../producer/backend.js';
import { InvalidTaskArguments } from '../model/errors.js';
import { jsonProblem, type Json } from '../model/json.js';
import { formatBytes, jsonBytes } from '../model/limits.js';
import type { Fence } from '../store/contract.js';

/** The worker a task runs in. */
export interface WorkerInfo {
  /** Unique id of the worker (`<app>-w<n>-<random>`). */
  id: string;
  /** `process`, `thread`, `inline`, or `monitor` when the monitor consumes (workers: 0). */
  concurrency: string;
  pid: number;
  threadId?: number;
}

/** The first argument of `Job.run`. */
export class TaskConsumer {
  private built: Task | null = null;
  private ended = false;

  constructor(
    /** The run's record (the runtime's own object; its kwargs and meta may be the store's). */
    private readonly record: WireTask,
    readonly job: Job,
    readonly backend: TaskBackend,
    readonly worker: WorkerInfo,
    /** The job's abort signal, or what makes it the first time a job reads it (a function, or the run's `signal`). */
    private readonly abortSignal: AbortSignal | (() => AbortSignal) | { readonly signal: AbortSignal },
    /** The fence of the running delivery (it changes if the task is delivered here again). */
    private readonly fence?: () => Fence,
  ) {}

  /**
   * The running task. Its kwargs and meta are the job's own copies, made on first access: the
   * task a worker pulls shares them with the store, and a job that reads only its kwargs argument
   * (a copy too) pays nothing.
   */
  get task(): Task {
    if (!this.built) {
      this.built = Task.fromWire(this.record);
      this.built.kwargs = structuredClone(this.built.kwargs);
      this.built.meta = structuredClone(this.built.meta);
    }
    return this.built;
  }

  /**
   * The task as the job left it (a new wire record), when it read `task`; null when it did not
   * (the run's record is then what the run reports).
   */
  changed(): WireTask | null {
    return this.built ? this.built.toWire() : null;
  }

  /** The run is over: a late `progress` no longer changes the run's record (the store may keep it). */
  end(): void {
    this.ended = true;
  }

  /** Aborted when the run must end (timeout, worker stopping, delivery lost). */
  get signal(): AbortSignal {
    const source = this.abortSignal;
    return typeof source === 'function' ? source() : source instanceof AbortSignal ? source : source.signal;
  }

  private get info(): string {
    return `task.${this.record.name}(${this.record.id})`;
  }

  /** The id of the running task. */
  get taskId(): string {
    return this.record.id;
  }

  /** The job's logger. */
  get logger(): Logger {
    return this.job.logger;
  }

  /**
   * Broadcasts `task_progress` for this task (beyond pulsar); `value` is stored in `meta.progress`.
   * Rejects InvalidTaskArguments for a value that is not plain JSON or over `maxArgumentBytes`.
   */
  progress(value: Json): Promise<void> {
    const problem = jsonProblem(value, 'progress');
    if (problem) return Promise.reject(new InvalidTaskArguments(`progress of ${this.info} must be plain JSON: ${problem}`));
    const bytes = jsonBytes(value);
    if (bytes > this.backend.limits.maxArgumentBytes) {
      return Promise.reject(new InvalidTaskArguments(`progress of ${this.info} is ${formatBytes(bytes)} of JSON, over maxArgumentBytes (${formatBytes(this.backend.limits.maxArgumentBytes)})`));
    }
    // The task is saved whole when it ends: its own meta must carry the progress too.
    const progress = structuredClone(value);
    if (this.built) this.built.meta = { ...this.built.meta, progress };
    else if (!this.ended) this.record.meta = { ...this.record.meta, progress };
    return this.backend.reportProgress(this.record.id, value, this.fence?.());
  }
}
