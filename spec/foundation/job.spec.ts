import { expect } from 'chai';
import { Duration } from 'luxon';
import { isAbstractJobClass, isJobClass, Job, PeriodicJob } from '../../src/job/job.js';
import type { JsonObject } from '../../src/model/json.js';
import { Logger } from '../../src/infra/logger.js';
import { JobRegistry } from '../../src/job/registry.js';
import { Addition, NotOverlap, StandardDeviation } from '../../jobs/sample.js';
import { TestPeriodic } from '../../jobs/periodic.js';

class MixedCaseName extends Job {
  run(): string {
    return 'ok';
  }
}

class Renamed extends Job {
  override name = 'custom.name';
  run(): string {
    return 'ok';
  }
}

// Three levels of inheritance: the flag applies to the class that declares it, never to a subclass.
class LevelA extends Job {
  static override abstract = true;
  run(): string {
    return 'a';
  }
}
class LevelB extends LevelA {}
class LevelC extends LevelB {
  static override abstract = true;
}
class LevelD extends LevelC {}

class Every extends PeriodicJob {
  override runEvery = Duration.fromObject({ seconds: 30 });
  run(): string {
    return 'tick';
  }
}

class OnlyWithToken extends Job {
  override canOverlap = (kwargs: JsonObject): boolean => typeof kwargs.token === 'string';
  run(): string {
    return 'ok';
  }
}

describe('Job', () => {
  describe('name', () => {
    it('is the class name in lower case', () => {
      expect(new MixedCaseName().name).to.equal('mixedcasename');
      expect(new NotOverlap().name).to.equal('notoverlap');
    });

    it('is the one the class sets when it sets one', () => {
      expect(new Renamed().name).to.equal('custom.name');
    });
  });

  describe('static abstract', () => {
    it('marks Job and PeriodicJob as abstract', () => {
      expect(isAbstractJobClass(Job)).to.equal(true);
      expect(isAbstractJobClass(PeriodicJob)).to.equal(true);
    });

    it('leaves a subclass of an abstract class concrete', () => {
      expect(isAbstractJobClass(MixedCaseName)).to.equal(false);
      expect(isAbstractJobClass(Every)).to.equal(false);
    });

    it('applies only to the declaring class across three levels of inheritance', () => {
      expect([LevelA, LevelB, LevelC, LevelD].map(isAbstractJobClass)).to.deep.equal([true, false, true, false]);
    });

    it('keeps exactly the abstract levels out of the registry', () => {
      const registry = JobRegistry.fromClasses([LevelA, LevelB, LevelC, LevelD]);
      expect(registry.names()).to.deep.equal(['levelb', 'leveld']);
      expect(registry.get('leveld')).to.be.instanceOf(LevelD);
    });

    it('is undone by a subclass that sets it to false', () => {
      class Reopened extends LevelC {
        static override abstract = false;
      }
      expect(isAbstractJobClass(Reopened)).to.equal(false);
    });
  });

  it('tells Job classes from other values', () => {
    expect(isJobClass(LevelD)).to.equal(true);
    expect(isJobClass(Job)).to.equal(true);
    expect(isJobClass(class NotAJob {})).to.equal(false);
    expect(isJobClass(new Addition())).to.equal(false);
    expect(isJobClass('addition')).to.equal(false);
  });

  it('recognises a subclass of Job from another copy of its module', async () => {
    // A second instance of job.ts, as when a job module is imported while the registry was required.
    const url = new URL('../../src/job/job.ts?second-copy', import.meta.url).href;
    const copy = (await import(url)) as typeof import('../../src/job/job.js');
    expect(copy.Job).to.not.equal(Job);
    class Elsewhere extends copy.Job {
      run(): string {
        return 'elsewhere';
      }
    }
    expect(isJobClass(Elsewhere)).to.equal(true);
    expect(JobRegistry.fromClasses([Elsewhere]).names()).to.deep.equal(['elsewhere']);
  });

  describe('type', () => {
    it("is 'regular' for a Job", () => {
      expect(new Addition().type).to.equal('regular');
    });

    it("is 'periodic' for a PeriodicJob", () => {
      expect(new Every().type).to.equal('periodic');
      expect(new TestPeriodic().type).to.equal('periodic');
    });
  });

  describe('defaults', () => {
    const job = new MixedCaseName();

    it('never expires', () => {
      expect(job.expires).to.equal(null);
    });

    it('may overlap', () => {
      expect(job.canOverlap).to.equal(true);
      expect(job.overlaps({ a: 1 })).to.equal(true);
    });

    it("writes its doc in 'markdown'", () => {
      expect(job.docSyntax).to.equal('markdown');
    });

    it('has an empty doc string', () => {
      expect(job.doc).to.equal('');
    });

    it('does not retry, has no timeout and a priority of 0', () => {
      expect(job).to.include({ maxRetries: 0, retryDelay: null, timeout: null, priority: 0 });
    });

    it('has no period, anchor or cron rule when periodic', () => {
      class Bare extends PeriodicJob {
        run(): string {
          return 'bare';
        }
      }
      expect(new Bare()).to.include({ runEvery: null, anchor: null, cron: null, timezone: null });
    });
  });

  it('keeps the values a subclass sets', () => {
    const job = new Addition();
    expect(job.doc).to.equal('Returns the sum of `a` and `b`.');
    expect(new TestPeriodic().runEvery?.as('seconds')).to.equal(5);
  });

  describe('canOverlap', () => {
    it('forbids overlap when false', () => {
      expect(new NotOverlap().overlaps({})).to.equal(false);
      expect(new NotOverlap().overlaps({ lag: 1 })).to.equal(false);
    });

    it('asks a function with the kwargs', () => {
      const job = new OnlyWithToken();
      expect(job.overlaps({ token: 'x' })).to.equal(true);
      expect(job.overlaps({ token: 1 })).to.equal(false);
      expect(job.overlaps({})).to.equal(false);
    });

    it('lets StandardDeviation overlap only with inputs', () => {
      const job = new StandardDeviation();
      expect(job.overlaps({ inputs: [1, 2] })).to.equal(true);
      expect(job.overlaps({ sample: 3 })).to.equal(false);
    });
  });

  describe('logger', () => {
    it('is a logger named job.<name>', () => {
      expect(new Addition().logger).to.be.instanceOf(Logger);
      expect(new Addition().logger.name).to.equal('job.addition');
    });

    it('uses the name the class sets', () => {
      expect(new Renamed().logger.name).to.equal('job.custom.name');
    });

    it('is the same logger on every access', () => {
      const job = new Addition();
      expect(job.logger).to.equal(job.logger);
    });
  });
});
