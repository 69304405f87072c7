/**
 * Sample periodic jobs.
 */
import { Duration } from 'luxon';
import { PeriodicJob } from '../src/index.js';
import { anchorDate } from '../src/job/scheduler.js';

/** Every 5 seconds, returns 'OK'. */
export class TestPeriodic extends PeriodicJob {
  override doc = "Runs every 5 seconds and returns 'OK'.";
  override runEvery = Duration.fromObject({ seconds: 5 });
  run(): string {
    return 'OK';
  }
}

/** Every 60 seconds, throws `kaputt`. */
export class TestPeriodicError extends PeriodicJob {
  override doc = 'Runs every minute and fails with "kaputt".';
  override runEvery = Duration.fromObject({ seconds: 60 });
  run(): never {
    throw new Error('kaputt');
  }
}

/** Every hour at minute 25. */
export class AnchoredEveryHour extends PeriodicJob {
  override doc = 'Runs every hour at minute 25.';
  override runEvery = Duration.fromObject({ hours: 1 });
  override anchor = anchorDate({ minute: 25 });
  run(): string {
    return 'OK';
  }
}
