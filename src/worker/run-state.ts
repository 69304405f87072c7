/**
 * What the worker runtime keeps of each run: its settings, the `run` event's payload, the state of
 * one delivery running here, a bounded wait, and the record (and log line) a run's outcome makes.
 */
import { secondsText } from '../infra/text.js';
import { FAILURE, RETRY, REVOKED, type TaskStatus } from '../model/states.js';
import type { WireTask } from '../model/task.js';
import type { TaskConsumer } from './consumer.js';
import type { JobRun, RunJobOptions } from './run-job.js';

export interface RuntimeOptions {
  /** Seconds a job may ignore its aborted signal after its timeout before the run is called stuck. */
  stuckGrace: number;
}

/** What the `run` event says of a job that starts running. */
export interface RunInfo {
  id: string;
  name: string;
  token: number;
  startedAtMs: number;
  /** The task's timeout in ms, or null for none. */
  timeoutMs: number | null;
}

/** One delivery running here. `token` follows re-deliveries of the same id to this worker. */
export interface ActiveRun {
  id: string;
  /** The task's job name. */
  name: string;
  token: number;
  /** Set once the store told this worker the task is not its any more. */
  lost: boolean;
  /** Set by `stop` once the task was handed back. */
  handedBack: boolean;
  /** Set once the job settled: the run only writes its outcome from then on. */
  jobDone: boolean;
  /** The token the `run` event named: `settled` names the same, though a re-delivery was adopted since. */
  runToken: number;
  job: JobRun | null;
  /** The answer to the run's start once it came (false also when it failed), null before. */
  startOwned: boolean | null;
  /** What waits for the start's answer (an outcome answered first), set by the store writer. */
  afterStart: (() => void) | null;
  /** Local estimate of when the lease runs out (ms, this process's clock; only durations are added). */
  leaseUntil: number;
  /** Settles once the run ended and was recorded (or could not be): made only for who waits for it. */
  done: Promise<void> | null;
  /** Resolves `done`, once it was made. */
  settled: (() => void) | null;
}

/** The options every JobRun of a worker shares (`maxResultBytes` read at each use). */
export function runOptions(stuckGraceS: number, maxResultBytes: () => number, onStuck: (task: WireTask) => void): RunJobOptions {
  return {
    stuckGraceMs: stuckGraceS * 1000,
    get maxResultBytes() {
      return maxResultBytes();
    },
    onStuck,
  };
}

const SETTLED: Promise<void> = Promise.resolve();

/** Settles once `run` settled: made on demand (most runs are never waited for). */
export function whenSettled(run: ActiveRun): Promise<void> {
  return (run.done ??= new Promise<void>((resolve) => (run.settled = resolve)));
}

/** Marks `run` settled: resolves whoever waits for it. */
export function settled(run: ActiveRun): void {
  if (run.settled) run.settled();
  else run.done ??= SETTLED;
}

/** Waits for `promise`, at most `ms`. */
export async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/**
 * What a run reports once its job ended with `status`: the task as the job left it (if it read
 * it), with the run's outcome; else the runtime's own record, which already carries the outcome
 * (no copy). A task that ended (not RETRY) is stamped with its end time.
 */
export function outcomeOf(task: WireTask, consumer: TaskConsumer, status: TaskStatus): WireTask {
  const changed = consumer.changed();
  const outcome: WireTask = changed
    ? Object.assign(changed, { status, result: task.result, stacktrace: task.stacktrace, retries: task.retries, time_started: task.time_started, worker: task.worker })
    : task;
  if (status !== RETRY) outcome.time_ended = Date.now() / 1000;
  return outcome;
}

/** The warning a run's outcome is logged with (null for a success). */
export function outcomeLine(task: WireTask, status: TaskStatus): string | null {
  if (status === RETRY) {
    const delay = task.retry_delay ? ` in ${secondsText(task.retry_delay)}` : '';
    return `task.${task.name}(${task.id}) failed (attempt ${task.retries} of ${task.max_retries + 1}), retrying${delay}: ${String(task.result)}`;
  }
  if (status === FAILURE) return `task.${task.name}(${task.id}) failed: ${String(task.result)}`;
  if (status === REVOKED) return `task.${task.name}(${task.id}) was revoked: ${String(task.result)}`;
  return null;
}
