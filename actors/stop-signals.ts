/**
 * How an arbiter that owns its process answers SIGINT and SIGTERM: the first stops gracefully
 * (running tasks get their grace) and exits 0 (1 if an application was given up); the second
 * hurries the stop (running tasks handed back to the queue) and exits 130; a third exits at once.
 * The handlers stay installed until the stop is over, so a second Ctrl-C never kills the process
 * by Node's default.
 */
import type { Logger } from '../src/infra/logger.js';

/** What the signals act on. */
export interface StopTarget {
  stop(): Promise<void>;
  /** Cuts the running stop short. */
  hurry(): void;
  /** True when the exit status should say that an application failed. */
  failed(): boolean;
}

/** Signal handling of one arbiter. */
export class StopSignals {
  private count = 0;
  private readonly handler = (signal: NodeJS.Signals) => this.received(signal);

  constructor(
    private readonly target: StopTarget,
    private readonly log: Logger,
  ) {}

  install(): void {
    this.count = 0;
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  remove(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }

  private received(signal: NodeJS.Signals): void {
    this.count += 1;
    if (this.count === 1) {
      this.log.info(`received ${signal}: stopping gracefully (again to stop at once)`);
      void this.target.stop().finally(() => process.exit(this.count > 1 ? 130 : this.target.failed() ? 1 : 0));
    } else if (this.count === 2) {
      this.log.warn(`received ${signal} again: stopping at once, handing running tasks back to the queue`);
      this.target.hurry();
      const exit = () => process.exit(130);
      void this.target.stop().finally(exit);
      setTimeout(exit, 5000).unref();
    } else {
      process.exit(130);
    }
  }
}
