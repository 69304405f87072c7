/**
 * SchedulerEntry: when a periodic job is due (SPEC §4), by period (with optional anchor) or cron.
 */
import { createRequire } from 'node:module';
import { DateTime, Duration, IANAZone } from 'luxon';
import { ImproperlyConfigured } from '../model/errors.js';
import type { PeriodicJob } from './job.js';

/**
 * cron-parser, loaded the first time a cron rule is read: most processes (every worker child of
 * an app without a cron job) never need it, and it weighs ~9 MiB of RSS.
 */
let cronParser: typeof import('cron-parser').CronExpressionParser | null = null;
function cron(): typeof import('cron-parser').CronExpressionParser {
  cronParser ??= (createRequire(import.meta.url)('cron-parser') as typeof import('cron-parser')).CronExpressionParser;
  return cronParser;
}

/** The schedule of one periodic job. */
export class SchedulerEntry {
  /** When the job was last queued (starts at creation time). */
  lastRunAt: DateTime;
  /** Runs queued by this entry. */
  totalRunCount = 0;
  readonly runEvery: Duration | null;
  readonly anchor: DateTime | null;
  readonly cron: string | null;
  readonly timezone: string;

  constructor(
    readonly name: string,
    runEvery: Duration | null,
    anchor: DateTime | null = null,
    options: { cron?: string | null; timezone?: string | null; now?: DateTime } = {},
  ) {
    this.runEvery = runEvery;
    this.anchor = anchor;
    this.cron = options.cron ?? null;
    this.timezone = options.timezone ?? 'UTC';
    this.lastRunAt = options.now ?? DateTime.now();
    if (this.cron) {
      // cron-parser pads a short rule silently ('5 * *' becomes every minute of the 5th): refuse it.
      const fields = this.cron.trim().split(/\s+/).length;
      if (!this.cron.trim().startsWith('@') && fields !== 5 && fields !== 6) {
        throw new ImproperlyConfigured(`Job "${name}" has an invalid cron rule "${this.cron}": 5 or 6 fields expected, got ${fields}`);
      }
      // An unknown zone only fails when the rule is first iterated, in the scheduler's tick.
      if (!IANAZone.isValidZone(this.timezone)) {
        throw new ImproperlyConfigured(`Job "${name}" has an unknown timezone "${this.timezone}"`);
      }
      try {
        cron().parse(this.cron, { tz: this.timezone });
      } catch (err) {
        throw new ImproperlyConfigured(`Job "${name}" has an invalid cron rule "${this.cron}": ${(err as Error).message}`);
      }
    } else if (!runEvery || runEvery.as('milliseconds') <= 0) {
      throw new ImproperlyConfigured(`Job "${name}" needs a positive runEvery or a cron rule`);
    }
  }

  /** The entry of a periodic job. */
  static forJob(job: PeriodicJob, now?: DateTime): SchedulerEntry {
    return new SchedulerEntry(job.name, job.runEvery, job.anchor, { cron: job.cron, timezone: job.timezone, now });
  }

  private get everyMs(): number {
    return (this.runEvery as Duration).as('milliseconds');
  }

  /**
   * With an anchor: the latest `anchor + k·runEvery` (k ≥ 0) not after `lastRunAt` (the anchor
   * itself when it is later). Without one: `lastRunAt`.
   */
  get scheduledLastRunAt(): DateTime {
    if (!this.anchor || this.cron) return this.lastRunAt;
    const diff = this.lastRunAt.toMillis() - this.anchor.toMillis();
    if (diff < 0) return this.anchor;
    const k = Math.floor(diff / this.everyMs);
    return this.anchor.plus({ milliseconds: k * this.everyMs });
  }

  /** The time of the next run after the last one. */
  nextRunAt(): DateTime {
    if (this.cron) {
      const it = cron().parse(this.cron, { currentDate: this.lastRunAt.toJSDate(), tz: this.timezone });
      return DateTime.fromJSDate(it.next().toDate());
    }
    return this.scheduledLastRunAt.plus({ milliseconds: this.everyMs });
  }

  /**
   * `[isDue, secondsToNext]`: when due, `[true, runEvery]` (for cron, the seconds from now to the
   * following run); else `[false, remaining seconds]`.
   */
  isDue(now: DateTime = DateTime.now()): [boolean, number] {
    const remaining = (this.nextRunAt().toMillis() - now.toMillis()) / 1000;
    if (remaining > 0) return [false, remaining];
    if (this.cron) {
      const it = cron().parse(this.cron, { currentDate: now.toJSDate(), tz: this.timezone });
      return [true, (it.next().toDate().getTime() - now.toMillis()) / 1000];
    }
    return [true, this.everyMs / 1000];
  }

  /** Records a run at `now`: sets `lastRunAt` and counts it. */
  next(now: DateTime = DateTime.now()): this {
    this.lastRunAt = now;
    this.totalRunCount += 1;
    return this;
  }
}

/** Today (UTC) at the given hour, minute and second: pulsar's `anchorDate`. */
export function anchorDate(at: { hour?: number; minute?: number; second?: number } = {}): DateTime {
  return DateTime.utc().startOf('day').set({ hour: at.hour ?? 0, minute: at.minute ?? 0, second: at.second ?? 0 });
}

/** A Duration from seconds or a Duration. */
export function toDuration(value: number | Duration): Duration {
  return Duration.isDuration(value) ? value : Duration.fromObject({ seconds: value });
}
