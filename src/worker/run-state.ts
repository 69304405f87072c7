/**
 * What the worker runtime keeps of each run: its settings, the `run` event's payload, the state of
 * one delivery running here, and a bounded wait.
 */
import type { WireTask } from '../model/task.js';
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
