import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'luxon';
import { ImproperlyConfigured } from '../../src/model/errors.js';
import { Job, type JobClass, PeriodicJob } from '../../src/job/job.js';
import { expandTaskPath, JobRegistry } from '../../src/job/registry.js';
import { Addition, Fail, NotOverlap } from '../../jobs/sample.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = 'spec/fixtures/registry';

class Hourly extends PeriodicJob {
  override runEvery = Duration.fromObject({ hours: 1 });
  run(): string {
    return 'hourly';
  }
}

class Nightly extends PeriodicJob {
  override cron = '0 3 * * *';
  override timezone = 'Europe/Berlin';
  run(): string {
    return 'nightly';
  }
}

/** Calls `fn` and returns what it rejected with; fails when it resolves. */
async function rejectionOf(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    expect(err).to.be.instanceOf(Error);
    return err as Error;
  }
  expect.fail('expected a rejection');
}

describe('JobRegistry', () => {
  describe('registering classes', () => {
    let registry: JobRegistry;
    beforeEach(() => {
      registry = JobRegistry.fromClasses([NotOverlap, Hourly, Addition, Nightly]);
    });

    it('finds a job by name', () => {
      expect(registry.get('addition')).to.be.instanceOf(Addition);
      expect(registry.get('nope')).to.equal(undefined);
    });

    it('says whether it has a name', () => {
      expect(registry.has('hourly')).to.equal(true);
      expect(registry.has('Hourly')).to.equal(false);
    });

    it('lists the names sorted', () => {
      expect(registry.names()).to.deep.equal(['addition', 'hourly', 'nightly', 'notoverlap']);
      expect(registry.size).to.equal(4);
    });

    it('lists the regular jobs', () => {
      expect(registry.regular().map((j) => j.name)).to.deep.equal(['addition', 'notoverlap']);
    });

    it('lists the periodic jobs', () => {
      const periodic = registry.periodic();
      expect(periodic.map((j) => j.name)).to.deep.equal(['hourly', 'nightly']);
      for (const job of periodic) expect(job).to.be.instanceOf(PeriodicJob);
    });

    it('filters jobs by type', () => {
      expect(registry.filterTypes('regular').map((j) => j.name)).to.deep.equal(['addition', 'notoverlap']);
      expect(registry.filterTypes('periodic').map((j) => j.name)).to.deep.equal(['hourly', 'nightly']);
    });

    it('returns the instance it registers', () => {
      const job = new JobRegistry().register(Fail);
      expect(job).to.be.instanceOf(Fail);
    });

    it('registers a class twice as one job', () => {
      const first = registry.get('addition');
      expect(registry.register(Addition)).to.equal(first);
      expect(registry.size).to.equal(4);
    });

    it('returns null for an abstract class and keeps it out', () => {
      expect(registry.register(Job as unknown as JobClass)).to.equal(null);
      expect(registry.size).to.equal(4);
    });

    it('refuses two jobs with one name, naming the job', () => {
      class Impostor extends Job {
        override name = 'addition';
        run(): number {
          return 0;
        }
      }
      expect(() => registry.register(Impostor))
        .to.throw(ImproperlyConfigured, '"addition"')
        .with.property('message')
        .that.includes('Impostor');
    });

    it('refuses a class that is not a Job', () => {
      class Stranger {
        name = 'stranger';
        run(): number {
          return 0;
        }
      }
      expect(() => registry.register(Stranger as unknown as JobClass)).to.throw(ImproperlyConfigured, /not a Job/);
    });

    it('refuses a periodic job without runEvery or cron', () => {
      class Lost extends PeriodicJob {
        run(): string {
          return 'lost';
        }
      }
      expect(() => new JobRegistry().register(Lost)).to.throw(ImproperlyConfigured, /"lost" needs runEvery or cron/);
    });
  });

  describe('load(taskPaths)', () => {
    it('loads the .ts, .js and .mjs modules directly in a folder/*', async () => {
      const registry = await JobRegistry.load([`${FIXTURES}/good/*`]);
      expect(registry.names()).to.deep.equal(['alpha', 'beta', 'gamma']);
    });

    it('skips _private modules, declaration files, specs, subfolders and other files', () => {
      const files = expandTaskPath(`${FIXTURES}/good/*`, ROOT).map((f) => path.basename(f));
      expect(files).to.deep.equal(['alpha.ts', 'beta.js', 'gamma.mjs']);
    });

    it('registers every exported concrete job once and nothing else', async () => {
      const registry = await JobRegistry.load([`${FIXTURES}/good/alpha.ts`], { cwd: ROOT });
      expect(registry.names()).to.deep.equal(['alpha']);
      expect(registry.get('alpha')?.run(undefined as never, {})).to.equal('alpha');
    });

    it('loads a single module by its path, relative or absolute', async () => {
      const relative = await JobRegistry.load([`${FIXTURES}/single/lonely.ts`], { cwd: ROOT });
      const absolute = await JobRegistry.load([path.join(ROOT, FIXTURES, 'single/lonely.ts')], { cwd: tmpdir() });
      expect(relative.names()).to.deep.equal(['lonely', 'lonelytick']);
      expect(absolute.names()).to.deep.equal(['lonely', 'lonelytick']);
      expect(relative.periodic().map((j) => j.name)).to.deep.equal(['lonelytick']);
    });

    it('loads a module path given without its extension', async () => {
      const registry = await JobRegistry.load([`${FIXTURES}/single/lonely`], { cwd: ROOT });
      expect(registry.names()).to.deep.equal(['lonely', 'lonelytick']);
    });

    it('loads into a registry given to it, beside classes already there', async () => {
      const registry = JobRegistry.fromClasses([Addition]);
      const same = await JobRegistry.load([`${FIXTURES}/good/*`], { cwd: ROOT, registry });
      expect(same).to.equal(registry);
      expect(registry.names()).to.deep.equal(['addition', 'alpha', 'beta', 'gamma']);
    });

    it('loads a module named twice only once', async () => {
      const registry = await JobRegistry.load([`${FIXTURES}/good/*`, `${FIXTURES}/good/beta.js`], { cwd: ROOT });
      expect(registry.names()).to.deep.equal(['alpha', 'beta', 'gamma']);
    });

    it("registers the repo's sample jobs from jobs/*", async () => {
      const registry = await JobRegistry.load(['jobs/*'], { cwd: ROOT });
      expect(registry.names()).to.include.members([
        'addition',
        'asynchronous',
        'notoverlap',
        'checkworker',
        'standarddeviation',
        'fail',
        'echo',
        'testperiodic',
        'testperiodicerror',
        'anchoredeveryhour',
      ]);
      expect(registry.periodic().map((j) => j.name)).to.include.members([
        'anchoredeveryhour',
        'testperiodic',
        'testperiodicerror',
      ]);
      expect(registry.get('echo')?.type).to.equal('regular');
    });

    it('refuses two modules whose jobs share a name, naming the job', async () => {
      const err = await rejectionOf(() => JobRegistry.load([`${FIXTURES}/duplicate/*`], { cwd: ROOT }));
      expect(err).to.be.instanceOf(ImproperlyConfigured);
      expect(err.message).to.include('"twin"');
    });

    describe('a module that does not load', () => {
      let scratch: string;
      before(() => {
        // A syntax error cannot live in the repo: tsc and eslint read every file under spec/.
        scratch = mkdtempSync(path.join(tmpdir(), 'pulsar-tasks-registry-'));
        writeFileSync(path.join(scratch, 'bad-syntax.ts'), 'export class Oops extends {\n');
        writeFileSync(path.join(scratch, 'bad-syntax.mjs'), 'export const = 1;\n');
      });
      after(() => {
        rmSync(scratch, { recursive: true, force: true });
      });

      it('is an error naming the path and the cause when its import throws', async () => {
        const entry = `${FIXTURES}/broken/throws-on-import.ts`;
        const err = await rejectionOf(() => JobRegistry.load([entry], { cwd: ROOT }));
        expect(err).to.be.instanceOf(ImproperlyConfigured);
        expect(err.message).to.include(entry).and.include('kaputt while importing');
        expect(err.cause).to.be.instanceOf(Error);
      });

      it('is an error naming the path when found through folder/*', async () => {
        const err = await rejectionOf(() => JobRegistry.load([`${FIXTURES}/broken/*`], { cwd: ROOT }));
        expect(err).to.be.instanceOf(ImproperlyConfigured);
        expect(err.message).to.include(`${FIXTURES}/broken/*`).and.include('throws-on-import.ts');
        expect(err.message).to.include('kaputt while importing');
      });

      for (const [file, place] of [['bad-syntax.ts', '2:1'], ['bad-syntax.mjs', '1:14']] as const) {
        it(`is one line naming the path, file:line:column and the message for a syntax error in a ${path.extname(file)} module`, async () => {
          const entry = path.join(scratch, file);
          const err = await rejectionOf(() => JobRegistry.load([entry]));
          expect(err).to.be.instanceOf(ImproperlyConfigured);
          expect(err.message).to.include(entry);
          expect(err.message).to.not.include('\n');
          expect(err.message).to.include(`syntax error at ${entry}:${place}: `);
          expect(err.message).to.match(/Unexpected|Expected/);
          expect(err.cause).to.be.instanceOf(Error);
        });
      }
    });

    describe('a path that does not exist', () => {
      it('is an error naming a missing module', async () => {
        const err = await rejectionOf(() => JobRegistry.load(['jobs/nowhere.ts'], { cwd: ROOT }));
        expect(err).to.be.instanceOf(ImproperlyConfigured);
        expect(err.message).to.include('"jobs/nowhere.ts"').and.include('no such module');
      });

      it('is an error naming a missing folder', async () => {
        const err = await rejectionOf(() => JobRegistry.load(['no-such-folder/*'], { cwd: ROOT }));
        expect(err).to.be.instanceOf(ImproperlyConfigured);
        expect(err.message).to.include('"no-such-folder/*"').and.match(/ENOENT|no such file/);
      });

      it('is an error for an empty path', async () => {
        const err = await rejectionOf(() => JobRegistry.load(['  '], { cwd: ROOT }));
        expect(err).to.be.instanceOf(ImproperlyConfigured);
        expect(err.message).to.match(/empty/);
      });
    });
  });
});
