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
  constructor(
    readonly task: Task,
    readonly job: Job,
    readonly backend: TaskBackend,
    readonly worker: WorkerInfo,
    readonly signal: AbortSignal,
    /** The fence of the running delivery (it changes if the task is delivered here again). */
    private readonly fence?: () => Fence,
  ) {}

  /** The id of the running task. */
  get taskId(): string {
    return this.task.id;
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
    if (problem) return Promise.reject(new InvalidTaskArguments(`progress of ${this.task.info()} must be plain JSON: ${problem}`));
    const bytes = jsonBytes(value);
    if (bytes > this.backend.limits.maxArgumentBytes) {
      return Promise.reject(new InvalidTaskArguments(`progress of ${this.task.info()} is ${formatBytes(bytes)} of JSON, over maxArgumentBytes (${formatBytes(this.backend.limits.maxArgumentBytes)})`));
    }
    // The task is saved whole when it ends: its own meta must carry the progress too.
    this.task.meta = { ...this.task.meta, progress: value };
    return this.backend.reportProgress(this.task.id, value, this.fence?.());
  }
}
