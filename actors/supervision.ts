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
  /** Killed by its parent for a run past its timeout + stuckGrace: replaced, not counted. */
  | 'timed_out'
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

/** How an arbiter restarts a TaskQueue that failed (its workers crashed past their budget). */
export interface QueueRestartPolicy {
  /** At most this many restarts of one queue per `period` seconds; past it the arbiter gives up. */
  intensity: number;
  period: number;
  /** First back-off (ms), doubled at each restart within the period, up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
}

/** The default: 5 restarts per 10 minutes, back-off from 1 s doubling up to 60 s. */
export const DEFAULT_QUEUE_RESTARTS: QueueRestartPolicy = { intensity: 5, period: 600, backoffMs: 1000, maxBackoffMs: 60_000 };

/** The restarts of one queue: the budget, and the back-off before the next. */
export class QueueRestarts {
  private readonly budget: RestartBudget;

  constructor(private readonly policy: QueueRestartPolicy) {
    this.budget = new RestartBudget(policy.intensity, policy.period);
  }

  /** Records a failure; the back-off (ms) before the restart, or null when the budget is spent. */
  next(nowMs: number = Date.now()): number | null {
    if (!this.budget.spend(nowMs)) return null;
    return Math.min(this.policy.maxBackoffMs, this.policy.backoffMs * 2 ** (this.budget.used - 1));
  }

  /** Restarts counted in the current period. */
  get used(): number {
    return this.budget.used;
  }
}
