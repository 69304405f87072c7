import { expect } from 'chai';
import { DateTime, Duration } from 'luxon';
import { ImproperlyConfigured } from '../../src/model/errors.js';
import { PeriodicJob } from '../../src/job/job.js';
import { anchorDate, SchedulerEntry, toDuration } from '../../src/job/scheduler.js';

const MINUTE = Duration.fromObject({ minutes: 1 });
const FIVE_MINUTES = Duration.fromObject({ minutes: 5 });
const HOUR = Duration.fromObject({ hours: 1 });
const BERLIN = 'Europe/Berlin';

/** A fixed instant, from an ISO string with its offset. */
const at = (iso: string): DateTime => {
  const t = DateTime.fromISO(iso, { setZone: true });
  if (!t.isValid) throw new Error(`bad test time ${iso}`);
  return t;
};

/**
 * Plays a scheduler whose timer is armed for the exact next due time, from `start` to `end`:
 * the instants the entry fired at, in the entry's zone.
 */
function firings(entry: SchedulerEntry, start: DateTime, end: DateTime): string[] {
  const runs: string[] = [];
  let now = start;
  for (let guard = 0; guard < 10_000 && now < end; guard++) {
    const [due, seconds] = entry.isDue(now);
    if (due) {
      runs.push(now.setZone(entry.timezone).toISO() ?? '');
      entry.next(now);
    } else {
      now = now.plus({ milliseconds: Math.round(seconds * 1000) });
    }
  }
  return runs;
}

/** Plays a scheduler that polls every `step` from `start` to `end`: how many times the entry fired. */
function pollCount(entry: SchedulerEntry, start: DateTime, end: DateTime, step: Duration): number {
  let count = 0;
  for (let now = start; now < end; now = now.plus(step)) {
    if (entry.isDue(now)[0]) {
      entry.next(now);
      count += 1;
    }
  }
  return count;
}

describe('SchedulerEntry', () => {
  const T0 = at('2026-01-01T10:00:00.000Z');

  describe('without an anchor', () => {
    it('starts its last run at its creation time', () => {
      const entry = new SchedulerEntry('tick', MINUTE, null, { now: T0 });
      expect(entry.lastRunAt.toMillis()).to.equal(T0.toMillis());
      expect(entry.totalRunCount).to.equal(0);
      expect(entry.scheduledLastRunAt.toMillis()).to.equal(T0.toMillis());
    });

    it('is not due when just created, with runEvery remaining', () => {
      const entry = new SchedulerEntry('tick', MINUTE, null, { now: T0 });
      expect(entry.isDue(T0)).to.deep.equal([false, 60]);
    });

    it('is not due before runEvery has passed, and says how long remains', () => {
      const entry = new SchedulerEntry('tick', MINUTE, null, { now: T0 });
      expect(entry.isDue(T0.plus({ seconds: 20 }))).to.deep.equal([false, 40]);
      expect(entry.isDue(T0.plus({ milliseconds: 59_750 }))).to.deep.equal([false, 0.25]);
    });

    it('is due once runEvery has passed, and returns runEvery in seconds', () => {
      const entry = new SchedulerEntry('tick', MINUTE, null, { now: T0 });
      expect(entry.isDue(T0.plus({ seconds: 60 }))).to.deep.equal([true, 60]);
      expect(entry.isDue(T0.plus({ seconds: 61 }))).to.deep.equal([true, 60]);
    });

    it('fires once for a run missed by several periods, then waits a full period', () => {
      const entry = new SchedulerEntry('tick', MINUTE, null, { now: T0 });
      const late = T0.plus({ minutes: 5, seconds: 30 });
      expect(entry.isDue(late)).to.deep.equal([true, 60]);
      entry.next(late);
      expect(entry.isDue(late)).to.deep.equal([false, 60]);
      expect(entry.isDue(late.plus({ seconds: 59 }))[0]).to.equal(false);
      expect(entry.totalRunCount).to.equal(1);
    });
  });

  describe('next()', () => {
    it('sets lastRunAt and counts the run', () => {
      const entry = new SchedulerEntry('tick', MINUTE, null, { now: T0 });
      const first = T0.plus({ minutes: 1 });
      const second = T0.plus({ minutes: 2, seconds: 3 });
      expect(entry.next(first)).to.equal(entry);
      expect(entry.lastRunAt.toMillis()).to.equal(first.toMillis());
      entry.next(second);
      expect(entry.lastRunAt.toMillis()).to.equal(second.toMillis());
      expect(entry.totalRunCount).to.equal(2);
    });

    it('moves the next due time one period past the run', () => {
      const entry = new SchedulerEntry('tick', MINUTE, null, { now: T0 });
      entry.next(T0.plus({ seconds: 90 }));
      expect(entry.isDue(T0.plus({ seconds: 149 }))).to.deep.equal([false, 1]);
      expect(entry.isDue(T0.plus({ seconds: 150 }))).to.deep.equal([true, 60]);
    });
  });

  describe('with an anchor in the past', () => {
    const anchor = at('2026-01-01T00:25:00.000Z');

    it('schedules its last run at the latest anchor + k·runEvery not after lastRunAt', () => {
      const entry = new SchedulerEntry('hourly', HOUR, anchor, { now: at('2026-01-01T05:40:00.000Z') });
      expect(entry.scheduledLastRunAt.toISO()).to.equal('2026-01-01T05:25:00.000Z');
    });

    it('counts a lastRunAt exactly on a slot as that slot', () => {
      const entry = new SchedulerEntry('hourly', HOUR, anchor, { now: at('2026-01-01T05:25:00.000Z') });
      expect(entry.scheduledLastRunAt.toISO()).to.equal('2026-01-01T05:25:00.000Z');
    });

    it('is due on the next slot, not runEvery after lastRunAt', () => {
      const entry = new SchedulerEntry('hourly', HOUR, anchor, { now: at('2026-01-01T05:40:00.000Z') });
      expect(entry.isDue(at('2026-01-01T06:24:59.000Z'))).to.deep.equal([false, 1]);
      expect(entry.isDue(at('2026-01-01T06:25:00.000Z'))).to.deep.equal([true, 3600]);
    });

    it('fires once for a run missed by several periods, then waits for the next slot', () => {
      const entry = new SchedulerEntry('hourly', HOUR, anchor, { now: at('2026-01-01T05:40:00.000Z') });
      const late = at('2026-01-01T09:55:00.000Z');
      expect(entry.isDue(late)[0]).to.equal(true);
      entry.next(late);
      expect(entry.scheduledLastRunAt.toISO()).to.equal('2026-01-01T09:25:00.000Z');
      expect(entry.isDue(late)).to.deep.equal([false, 30 * 60]);
      expect(entry.isDue(at('2026-01-01T10:25:00.000Z'))).to.deep.equal([true, 3600]);
    });
  });

  describe('with an anchor in the future', () => {
    const created = at('2026-01-01T10:00:00.000Z');
    const anchor = at('2026-01-01T10:30:00.000Z');

    it('takes the anchor as its last scheduled run', () => {
      const entry = new SchedulerEntry('hourly', HOUR, anchor, { now: created });
      expect(entry.scheduledLastRunAt.toMillis()).to.equal(anchor.toMillis());
    });

    it('fires first at anchor + runEvery, not at the anchor', () => {
      const entry = new SchedulerEntry('hourly', HOUR, anchor, { now: created });
      expect(entry.isDue(created)).to.deep.equal([false, 90 * 60]);
      expect(entry.isDue(anchor)).to.deep.equal([false, 3600]);
      expect(entry.isDue(at('2026-01-01T11:29:59.500Z'))).to.deep.equal([false, 0.5]);
      expect(entry.isDue(at('2026-01-01T11:30:00.000Z'))).to.deep.equal([true, 3600]);
    });
  });

  describe('with a cron rule', () => {
    it("fires on every quarter hour of '*/15 * * * *' in its zone", () => {
      const created = at('2026-01-01T09:07:00.000-05:00');
      const entry = new SchedulerEntry('quarter', null, null, {
        cron: '*/15 * * * *',
        timezone: 'America/New_York',
        now: created,
      });
      expect(entry.nextRunAt().setZone('America/New_York').toISO()).to.equal('2026-01-01T09:15:00.000-05:00');
      expect(entry.isDue(created)).to.deep.equal([false, 8 * 60]);
      expect(firings(entry, created, at('2026-01-01T10:00:00.000-05:00'))).to.deep.equal([
        '2026-01-01T09:15:00.000-05:00',
        '2026-01-01T09:30:00.000-05:00',
        '2026-01-01T09:45:00.000-05:00',
      ]);
      expect(entry.totalRunCount).to.equal(3);
    });

    it('returns the seconds to the following run when due', () => {
      const entry = new SchedulerEntry('quarter', null, null, { cron: '*/15 * * * *', now: T0 });
      expect(entry.isDue(at('2026-01-01T10:15:00.000Z'))).to.deep.equal([true, 15 * 60]);
      expect(entry.isDue(at('2026-01-01T10:20:00.000Z'))).to.deep.equal([true, 10 * 60]);
    });

    it('reads the hours of the rule in its zone', () => {
      const entry = new SchedulerEntry('morning', null, null, {
        cron: '0 9 * * *',
        timezone: 'America/New_York',
        now: T0,
      });
      expect(entry.nextRunAt().toUTC().toISO()).to.equal('2026-01-01T14:00:00.000Z');
    });

    it('defaults to UTC', () => {
      const entry = new SchedulerEntry('morning', null, null, { cron: '0 9 * * *', now: T0 });
      expect(entry.timezone).to.equal('UTC');
      expect(entry.nextRunAt().toUTC().toISO()).to.equal('2026-01-02T09:00:00.000Z');
    });

    it('does not fire again for the run it just recorded', () => {
      const entry = new SchedulerEntry('quarter', null, null, { cron: '*/15 * * * *', now: T0 });
      const fire = at('2026-01-01T10:15:00.000Z');
      expect(entry.isDue(fire)[0]).to.equal(true);
      entry.next(fire);
      expect(entry.isDue(fire)).to.deep.equal([false, 15 * 60]);
    });

    describe('across the spring-forward of 2026-03-29 in Europe/Berlin (02:00 → 03:00)', () => {
      const created = at('2026-03-27T12:00:00.000+01:00');
      const end = at('2026-03-31T12:00:00.000+02:00');
      const nightly = (): SchedulerEntry =>
        new SchedulerEntry('nightly', null, null, { cron: '30 2 * * *', timezone: BERLIN, now: created });

      it('fires a daily 02:30 once every day, at 03:30 on the day 02:30 does not exist', () => {
        expect(firings(nightly(), created, end)).to.deep.equal([
          '2026-03-28T02:30:00.000+01:00',
          '2026-03-29T03:30:00.000+02:00',
          '2026-03-30T02:30:00.000+02:00',
          '2026-03-31T02:30:00.000+02:00',
        ]);
      });

      it('fires the 29th exactly once for a scheduler polling every five minutes', () => {
        const entry = nightly();
        entry.next(at('2026-03-28T02:30:00.000+01:00'));
        const count = pollCount(entry, at('2026-03-28T12:00:00.000+01:00'), at('2026-03-29T12:00:00.000+02:00'), FIVE_MINUTES);
        expect(count).to.equal(1);
        expect(entry.lastRunAt.setZone(BERLIN).toISO()).to.equal('2026-03-29T03:30:00.000+02:00');
      });

      it('fires an hourly rule 23 times on the 23-hour day', () => {
        const entry = new SchedulerEntry('hourly', null, null, { cron: '0 * * * *', timezone: BERLIN, now: created });
        const runs = firings(entry, at('2026-03-29T00:00:00.000+01:00'), at('2026-03-30T00:00:00.000+02:00'));
        expect(runs).to.have.length(23);
        expect(new Set(runs).size).to.equal(23);
        expect(runs.slice(1, 3)).to.deep.equal(['2026-03-29T01:00:00.000+01:00', '2026-03-29T03:00:00.000+02:00']);
      });
    });

    describe('across the fall-back of 2026-10-25 in Europe/Berlin (03:00 → 02:00)', () => {
      it('fires a daily 02:30 once, although 02:30 happens twice', () => {
        const created = at('2026-10-24T12:00:00.000+02:00');
        const entry = new SchedulerEntry('nightly', null, null, { cron: '30 2 * * *', timezone: BERLIN, now: created });
        expect(firings(entry, created, at('2026-10-26T12:00:00.000+01:00'))).to.deep.equal([
          '2026-10-25T02:30:00.000+02:00',
          '2026-10-26T02:30:00.000+01:00',
        ]);
      });

      it('fires an hourly rule 25 times on the 25-hour day', () => {
        const start = at('2026-10-25T00:00:00.000+02:00');
        const entry = new SchedulerEntry('hourly', null, null, { cron: '0 * * * *', timezone: BERLIN, now: start.minus({ minutes: 1 }) });
        const runs = firings(entry, start, at('2026-10-26T00:00:00.000+01:00'));
        expect(runs).to.have.length(25);
        expect(new Set(runs).size).to.equal(25);
      });
    });
  });

  describe('configuration errors', () => {
    it('refuses a missing runEvery without cron', () => {
      expect(() => new SchedulerEntry('lost', null)).to.throw(ImproperlyConfigured, /"lost" needs a positive runEvery/);
    });

    it('refuses a runEvery of zero', () => {
      expect(() => new SchedulerEntry('never', Duration.fromObject({ seconds: 0 }))).to.throw(ImproperlyConfigured);
    });

    for (const rule of ['61 * * * *', 'every monday', '0 0 * * * * *', '5 * *']) {
      it(`refuses the invalid cron rule "${rule}", naming the job and the rule`, () => {
        expect(() => new SchedulerEntry('broken', null, null, { cron: rule }))
          .to.throw(ImproperlyConfigured, `"broken"`)
          .with.property('message')
          .that.includes(rule);
      });
    }

    it('accepts cron rules of 5 or 6 fields and @ aliases', () => {
      for (const rule of ['0 * * * *', '30 0 * * * *', '@daily']) {
        expect(() => new SchedulerEntry('ok', null, null, { cron: rule }), rule).to.not.throw();
      }
    });

    it('refuses an unknown timezone for a cron rule', () => {
      expect(() => new SchedulerEntry('zoned', null, null, { cron: '0 * * * *', timezone: 'Mars/Olympus' })).to.throw(
        ImproperlyConfigured,
        'Mars/Olympus',
      );
    });
  });

  describe('forJob()', () => {
    class Quarter extends PeriodicJob {
      override cron = '*/15 * * * *';
      override timezone = BERLIN;
      run(): string {
        return 'q';
      }
    }
    class Hourly extends PeriodicJob {
      override runEvery = HOUR;
      override anchor = at('2026-01-01T00:25:00.000Z');
      run(): string {
        return 'h';
      }
    }

    it("takes the job's name, period and anchor", () => {
      const entry = SchedulerEntry.forJob(new Hourly(), T0);
      expect(entry.name).to.equal('hourly');
      expect(entry.runEvery?.as('seconds')).to.equal(3600);
      expect(entry.isDue(at('2026-01-01T10:25:00.000Z'))).to.deep.equal([true, 3600]);
    });

    it("takes the job's cron rule and zone", () => {
      const entry = SchedulerEntry.forJob(new Quarter(), T0);
      expect(entry).to.include({ name: 'quarter', cron: '*/15 * * * *', timezone: BERLIN });
      expect(entry.nextRunAt().toUTC().toISO()).to.equal('2026-01-01T10:15:00.000Z');
    });
  });

  it('anchors at today, UTC, at the given time', () => {
    const anchor = anchorDate({ hour: 4, minute: 25 });
    expect(anchor.zoneName).to.equal('UTC');
    expect(anchor.toFormat('HH:mm:ss.SSS')).to.equal('04:25:00.000');
    expect(anchor.hasSame(DateTime.utc(), 'day') || anchor.hasSame(DateTime.utc().minus({ minutes: 1 }), 'day')).to.equal(true);
  });

  it('turns seconds into a Duration and keeps a Duration', () => {
    expect(toDuration(90).as('minutes')).to.equal(1.5);
    expect(toDuration(HOUR)).to.equal(HOUR);
  });
});
