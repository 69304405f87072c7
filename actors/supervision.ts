/**
 * Supervision, Erlang/OTP style: a restart budget (at most `intensity` restarts per `period`
 * seconds), and the exit reason deciding whether a restart counts against it.
 */

/** Why a worker stopped. */
export type ExitReason =
  /** Processed maxRequests tasks and stopped on purpose: replaced, not counted. */
  | 'max_requests'
  /** The monitor asked it to stop (shutdown): not replaced. */
  | 'shutdown'
  /** Silent past the timeout, or stuck on a job that ignores its signal: killed and replaced. */
  | 'unresponsive'
  /** Exited or was killed unexpectedly: replaced. */
  | 'crashed';

/** True when the exit counts against the restart budget. */
export function countsAgainstBudget(reason: ExitReason): boolean {
  return reason === 'crashed' || reason === 'unresponsive';
}

/** At most `intensity` restarts within any `period` seconds. */
export class RestartBudget {
  private readonly restarts: number[] = [];

  constructor(
    readonly intensity: number,
    readonly periodSeconds: number,
  ) {}

  /** Records a restart at `nowMs`; false when the budget is exceeded. */
  spend(nowMs: number = Date.now()): boolean {
    const since = nowMs - this.periodSeconds * 1000;
    while (this.restarts.length && (this.restarts[0] as number) < since) this.restarts.shift();
    this.restarts.push(nowMs);
    return this.restarts.length <= this.intensity;
  }

  /** Restarts counted in the current period. */
  get used(): number {
    return this.restarts.length;
  }
}
