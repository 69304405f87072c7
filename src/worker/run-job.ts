/**
 * One run of a job: the race between the job, its timeout and the loss of its delivery, and the
 * status it leaves on the task. A timed-out run is aborted and then waited for: its outcome (and
 * so the release of its non-overlap lock) is written only once the job really settled.
 */
import { clipText, resultProblem } from '../model/limits.js';
import type { Job } from '../job/job.js';
import { toJsonResult, type Json } from '../model/json.js';
import { copyJson, copyPlainJson } from '../producer/plain-json.js';
import { FAILURE, RETRY, REVOKED, SUCCESS, type TaskStatus } from '../model/states.js';
import type { WireTask } from '../model/task.js';
import { timeoutMessage } from '../store/contract.js';
import type { TaskConsumer } from './consumer.js';

/**
 * A job's abort signal, made only when something reads it: most jobs never do, and an
 * AbortController per task was a measurable share of the per-task cost. Aborting before anyone
 * read it leaves the reason for the signal made later (born aborted).
 */
class LazyAbort {
  private controller: AbortController | null = null;
  private reason: Error | null = null;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: Error): void {
    if (this.controller) this.controller.abort(reason);
    else this.reason ??= reason;
  }
}

/** What `lost` resolves to: the delivery is not this worker's any more. */
export const LOST: unique symbol = Symbol('lost');
const TIMED_OUT: unique symbol = Symbol('timed out');

/** A job running. */
export interface JobRun {
  /** The job's `consumer.signal`. */
  readonly signal: AbortSignal;
  /**
   * The task's status once the run is over (the task's result and stack set), or null when the
   * delivery was lost (the job's signal is aborted and nothing is waited for).
   */
  readonly outcome: Promise<TaskStatus | null>;
  /** Aborts the job's signal (worker stopping, delivery lost). */
  abort(reason: Error): void;
}

export interface RunJobOptions {
  /** How long a timed-out job may ignore its aborted signal before `onStuck`. */
  stuckGraceMs: number;
  /** A larger result (bytes of JSON) ends the task FAILURE, saying so; error messages are clipped to it. */
  maxResultBytes: number;
  onStuck(): void;
}

/**
 * Starts `job` on `task` (the runtime's own record of the run: the outcome's status, result,
 * stacktrace and retries are written into it); `lost` settles when the delivery turns out not to
 * be this worker's.
 */
export function runJob(
  task: WireTask,
  job: Job,
  consumerFor: (signal: () => AbortSignal) => TaskConsumer,
  lost: Promise<typeof LOST>,
  options: RunJobOptions,
): JobRun {
  const aborter = new LazyAbort();
  const consumer = consumerFor(() => aborter.signal);
  // The job starts after a setImmediate: the store writes of this turn (start above all, batched per
  // turn and sent from an earlier setImmediate) are on their way before the job can block or kill
  // its worker. Else a job that crashes its worker at once would never be recorded as started,
  // be handed back uncharged, and crash the next worker for ever.
  const work = new Promise<unknown>((resolve, reject) =>
    setImmediate(() => {
      try {
        resolve(job.run(consumer, copyJson(task.kwargs)));
      } catch (err) {
        reject(err);
      }
    }),
  );
  const outcome = (async (): Promise<TaskStatus | null> => {
    let timer: NodeJS.Timeout | null = null;
    // No timer (nor its promise) for a task without a timeout.
    // The job's value races as it is: the run's own symbols cannot be a job's value.
    const racers: Promise<unknown>[] = [work];
    const timeout = task.timeout;
    if (timeout !== null) racers.push(new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), timeout * 1000))));
    racers.push(lost);
    try {
      const first = await Promise.race(racers);
      if (first === LOST) {
        aborter.abort(new Error("the task is not this worker's any more"));
        work.catch(() => undefined);
        return null;
      }
      if (first === TIMED_OUT) {
        const message = timeoutMessage(task.timeout ?? 0);
        aborter.abort(new Error(message));
        await settledOrStuck(work, options);
        task.status = REVOKED;
        task.result = message;
        return REVOKED;
      }
      // The job may keep (and change) what it returned: the store gets its own copy of an object.
      // Plain JSON well under the size limit is copied in one walk; anything else is converted,
      // copied and checked in full.
      const plain = copyPlainJson(first === undefined ? null : first);
      let result: Json;
      let problem: string | null = null;
      if (plain && plain.maxBytes <= options.maxResultBytes) result = plain.copy;
      else {
        const value = toJsonResult(first);
        result = typeof value === 'object' && value !== null ? copyJson(value) : value;
        problem = resultProblem(result, options.maxResultBytes);
      }
      task.status = problem ? FAILURE : SUCCESS;
      task.result = problem ?? result;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      task.result = clipText(error.message, options.maxResultBytes);
      if (task.retries < task.max_retries) {
        task.status = RETRY;
        task.retries += 1;
        task.stacktrace = error.stack ?? null;
      } else {
        task.status = FAILURE;
        task.stacktrace = error.stack ?? String(error);
      }
    } finally {
      if (timer) clearTimeout(timer);
    }
    return task.status;
  })();
  return {
    get signal() {
      return aborter.signal;
    },
    outcome,
    abort: (reason) => aborter.abort(reason),
  };
}

/** Waits until `work` settles; calls `onStuck` once if that takes longer than the grace. */
async function settledOrStuck(work: Promise<unknown>, options: RunJobOptions): Promise<void> {
  const settled = work.then(
    () => undefined,
    () => undefined,
  );
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), options.stuckGraceMs)));
  if ((await Promise.race([settled, stuck])) === 'stuck') options.onStuck();
  clearTimeout(timer);
  await settled;
}
