/**
 * One run of a job: the race between the job, its timeout and the loss of its delivery, and the
 * status it leaves on the task. A timed-out run is aborted and then waited for: its outcome (and
 * so the release of its non-overlap lock) is written only once the job really settled.
 *
 * A plain state machine driven by callbacks (the job's promise, its timer, the runtime telling
 * of a lost delivery): no async frame, race or promise of its own per run; a timer only for a
 * task with a timeout, an AbortController only for a job that reads its signal.
 */
import { clipText, resultProblem } from '../model/limits.js';
import type { Job } from '../job/job.js';
import { toJsonResult, type Json } from '../model/json.js';
import { copyJson, copyPlainJson } from '../producer/plain-json.js';
import { FAILURE, RETRY, REVOKED, SUCCESS, type TaskStatus } from '../model/states.js';
import type { WireTask } from '../model/task.js';
import { timeoutMessage } from '../store/contract.js';
import type { TaskConsumer } from './consumer.js';

export interface RunJobOptions {
  /** How long a timed-out job may ignore its aborted signal before `onStuck`. */
  stuckGraceMs: number;
  /** A larger result (bytes of JSON) ends the task FAILURE, saying so; error messages are clipped to it. */
  readonly maxResultBytes: number;
  /** The run of `task` timed out and its job ignored its aborted signal for the whole grace. */
  onStuck(task: WireTask): void;
}

/** Where a run is: its job not started or running, timed out (waiting for it), or over. */
const RUNNING = 0;
const TIMED_OUT = 1;
const OVER = 2;

/**
 * A job running on `task` (the runtime's own record of the run: the outcome's status, result,
 * stacktrace and retries are written into it). `onOutcome` is called once: with the task's status
 * once the run is over, or with null when the delivery was lost first (the job's signal is then
 * aborted and nothing is waited for).
 */
export class JobRun {
  private controller: AbortController | null = null;
  private reason: Error | null = null;
  private state = RUNNING;
  private timer: NodeJS.Timeout | null = null;
  private consumer: TaskConsumer | null = null;
  /** Dropped once called (with the consumer): see `end`. */
  private onOutcome: ((status: TaskStatus | null) => void) | null;

  constructor(
    private readonly task: WireTask,
    private readonly job: Job,
    private readonly options: RunJobOptions,
    onOutcome: (status: TaskStatus | null) => void,
  ) {
    this.onOutcome = onOutcome;
  }

  /**
   * Starts the job with `consumer` (made with this run as its signal's source). The job starts
   * after a setImmediate: the store writes of this turn (start above all, batched per turn and
   * sent from an earlier setImmediate) are on their way before the job can block or kill its
   * worker. Else a job that crashes its worker at once would never be recorded as started, be
   * handed back uncharged, and crash the next worker for ever. The runs started in one stretch of
   * synchronous code share that setImmediate (an Immediate per run was an object per task); a run
   * started later, from a promise reaction or another callback, gets one of its own, behind the
   * writes its own start made.
   */
  start(consumer: TaskConsumer): void {
    this.consumer = consumer;
    if (starting === null) {
      starting = [];
      setImmediate(runAll, starting);
      queueMicrotask(closeBatch);
    }
    starting.push(this);
    const timeout = this.task.timeout;
    // No timer for a task without a timeout.
    if (timeout !== null) this.timer = setTimeout(timedOut, timeout * 1000, this);
  }

  /**
   * The job's `consumer.signal`, made only when something reads it: most jobs never do, and an
   * AbortController per task was a measurable share of the per-task cost. Aborting before anyone
   * read it leaves the reason for the signal made later (born aborted).
   */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Aborts the job's signal (worker stopping, delivery lost). */
  abort(reason: Error): void {
    if (this.controller) this.controller.abort(reason);
    else this.reason ??= reason;
  }

  /** The delivery is not this worker's any more: a run still going ends with null. */
  lost(): void {
    if (this.state !== RUNNING) return;
    this.abort(new Error("the task is not this worker's any more"));
    this.end(null);
  }

  /** Called from the setImmediate of `start` (it does not throw: the job's errors are its outcome). */
  run(): void {
    if (this.state === OVER) return;
    let value: unknown;
    try {
      value = this.job.run(this.consumer as TaskConsumer, copyJson(this.task.kwargs));
    } catch (err) {
      this.failed(err);
      return;
    }
    // A job's own thenable is followed like `await` would; a plain value ends the run now.
    if (value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function') {
      Promise.resolve(value).then(
        (v) => this.succeeded(v),
        (err: unknown) => this.failed(err),
      );
    } else this.succeeded(value);
  }

  /** The job's timeout ran out: its signal is aborted, and the run ends REVOKED once it settled. */
  timedOut(): void {
    this.timer = null;
    if (this.state !== RUNNING) return;
    this.state = TIMED_OUT;
    this.abort(new Error(timeoutMessage(this.task.timeout ?? 0)));
    this.timer = setTimeout(stuck, this.options.stuckGraceMs, this);
  }

  /** A timed-out job ignored its aborted signal for the whole grace. */
  stuck(): void {
    this.timer = null;
    if (this.state === TIMED_OUT) this.options.onStuck(this.task);
  }

  private succeeded(value: unknown): void {
    if (this.state === TIMED_OUT) return this.revoke();
    if (this.state !== RUNNING) return;
    const task = this.task;
    const max = this.options.maxResultBytes;
    let problem: string | null = null;
    try {
      // The job may keep (and change) what it returned: the store gets its own copy of an object.
      // Plain JSON well under the size limit is copied in one walk; anything else is converted,
      // copied and checked in full.
      const plain = copyPlainJson(value === undefined ? null : value);
      let result: Json;
      if (plain && plain.maxBytes <= max) result = plain.copy;
      else {
        const converted = toJsonResult(value);
        result = typeof converted === 'object' && converted !== null ? copyJson(converted) : converted;
        problem = resultProblem(result, max);
      }
      task.status = problem ? FAILURE : SUCCESS;
      task.result = problem ?? result;
    } catch (err) {
      this.failed(err);
      return;
    }
    this.end(task.status);
  }

  private failed(err: unknown): void {
    if (this.state === TIMED_OUT) return this.revoke();
    if (this.state !== RUNNING) return;
    const task = this.task;
    const error = err instanceof Error ? err : new Error(String(err));
    task.result = clipText(error.message, this.options.maxResultBytes);
    if (task.retries < task.max_retries) {
      task.status = RETRY;
      task.retries += 1;
      task.stacktrace = error.stack ?? null;
    } else {
      task.status = FAILURE;
      task.stacktrace = error.stack ?? String(error);
    }
    this.end(task.status);
  }

  /** The timed-out job settled: the run ends REVOKED. */
  private revoke(): void {
    const task = this.task;
    task.status = REVOKED;
    task.result = timeoutMessage(task.timeout ?? 0);
    this.end(REVOKED);
  }

  /**
   * The run is over: its outcome is told, and the run lets go of its consumer and its callback (a
   * JobRun outliving its run, an old object by then, kept them and all they hold alive through
   * young-generation collections: most of a run's objects got promoted, and died in old space).
   */
  private end(status: TaskStatus | null): void {
    this.state = OVER;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const onOutcome = this.onOutcome;
    this.onOutcome = null;
    this.consumer = null;
    onOutcome?.(status);
  }
}

/**
 * The runs started in the current stretch of synchronous code, run from one setImmediate in the
 * order they started; null once that stretch is over (the next run makes a new batch).
 */
let starting: JobRun[] | null = null;

function closeBatch(): void {
  starting = null;
}

function runAll(runs: JobRun[]): void {
  for (const run of runs) run.run();
}

function timedOut(run: JobRun): void {
  run.timedOut();
}

function stuck(run: JobRun): void {
  run.stuck();
}
