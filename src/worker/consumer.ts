/**
 * TaskConsumer: what a running job sees of its task, its worker and its backend.
 */
import type { Job } from '../job/job.js';
import type { Logger } from '../infra/logger.js';
import type { Task } from '../model/task.js';
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
  private copied = false;

  constructor(
    private readonly running: Task,
    readonly job: Job,
    readonly backend: TaskBackend,
    readonly worker: WorkerInfo,
    /** The job's abort signal, or how to make it the first time a job reads it. */
    private readonly abortSignal: AbortSignal | (() => AbortSignal),
    /** The fence of the running delivery (it changes if the task is delivered here again). */
    private readonly fence?: () => Fence,
  ) {}

  /**
   * The running task. Its kwargs and meta are the job's own copies, made on first access: the
   * task a worker pulls shares them with the store, and a job that reads only its kwargs argument
   * (a copy too) pays nothing.
   */
  get task(): Task {
    if (!this.copied) {
      this.copied = true;
      this.running.kwargs = structuredClone(this.running.kwargs);
      this.running.meta = structuredClone(this.running.meta);
    }
    return this.running;
  }

  /** Aborted when the run must end (timeout, worker stopping, delivery lost). */
  get signal(): AbortSignal {
    return typeof this.abortSignal === 'function' ? this.abortSignal() : this.abortSignal;
  }

  /** The id of the running task. */
  get taskId(): string {
    return this.running.id;
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
    if (problem) return Promise.reject(new InvalidTaskArguments(`progress of ${this.running.info()} must be plain JSON: ${problem}`));
    const bytes = jsonBytes(value);
    if (bytes > this.backend.limits.maxArgumentBytes) {
      return Promise.reject(new InvalidTaskArguments(`progress of ${this.running.info()} is ${formatBytes(bytes)} of JSON, over maxArgumentBytes (${formatBytes(this.backend.limits.maxArgumentBytes)})`));
    }
    // The task is saved whole when it ends: its own meta must carry the progress too.
    this.running.meta = { ...this.running.meta, progress: structuredClone(value) };
    return this.backend.reportProgress(this.running.id, value, this.fence?.());
  }
}
