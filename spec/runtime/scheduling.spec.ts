/**
 * The scheduling and introspection side of a TaskBackend (SPEC §4, §5): tick, nextScheduled,
 * jobList, a periodic job queued by hand, and progress broadcasts. Fixed clocks where time matters.
 */
import { expect } from 'chai';
import { DateTime } from 'luxon';
import { TaskBackend } from '../../src/producer/backend.js';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { JobRegistry } from '../../src/job/registry.js';
import { SUCCESS } from '../../src/model/states.js';
import { nextEvent, TASK_PATHS } from '../support/runtime.js';
import { startWorker } from '../../src/worker/worker-runtime.js';
import { TestPeriodic, TestPeriodicError } from '../../jobs/periodic.js';

describe('scheduling and introspection of a backend', () => {
  let registry: JobRegistry;
  const backends: TaskBackend[] = [];
  const open = (schedulePeriodic: boolean, store = new MemoryStore('sched'), jobs = registry) => {
    const backend = new TaskBackend(store, { name: 'sched', url: 'local://', registry: jobs, schedulePeriodic });
    backends.push(backend);
    return backend;
  };

  before(async () => {
    registry = await JobRegistry.load(TASK_PATHS);
  });
  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.close(1)));
  });

  it('answers nextScheduled with null when it does not schedule', () => {
    expect(open(false).nextScheduled()).to.equal(null);
  });

  it('gives the soonest entry and its remaining seconds, [name, 0] once due, [names, null] when none matches', () => {
    // The periodic jobs that run on a relative period only: the sample AnchoredEveryHour is due at
    // minute 25 of every hour by the wall clock, so in the 5 s before it the soonest entry was it
    // (this spec failed when it ran at hh:24:55-hh:25:00).
    const backend = open(true, undefined, JobRegistry.fromClasses([TestPeriodic, TestPeriodicError]));
    const now = DateTime.now();
    const [name, seconds] = backend.nextScheduled(null, now) as [string, number];
    expect(name).to.equal('testperiodic');
    expect(seconds).to.be.within(4, 5);
    expect(backend.nextScheduled(['testperiodic'], now.plus({ seconds: 6 }))).to.deep.equal(['testperiodic', 0]);
    expect(backend.nextScheduled(['nosuchjob'], now)).to.deep.equal([['nosuchjob'], null]);
  });

  it('queues each due periodic job from tick() and arms nextRun for the next one', async () => {
    const backend = open(true);
    const later = DateTime.now().plus({ seconds: 6 });
    const before = Date.now();
    await backend.tick(later);
    const after = Date.now();
    const queued = await backend.getTasks({ name: 'testperiodic' });
    expect(queued).to.have.length(1);
    expect(await backend.getTasks({ name: 'testperiodicerror' })).to.have.length(0);
    expect(backend.entries.get('testperiodic')?.totalRunCount).to.equal(1);
    // nextRun is an instant on this process's clock (the monitor arms its timer with it): the run
    // every 5 s is due again 5 s after the tick, whatever `now` the tick was given.
    const nextRun = (backend.nextRun as DateTime).toMillis();
    expect(nextRun).to.be.within(before + 4900, after + 5000);
    await backend.tick(later.plus({ seconds: 1 }));
    expect(await backend.getTasks({ name: 'testperiodic' })).to.have.length(1);
  });

  it('advances the entry of a periodic job queued by hand', async () => {
    const backend = open(true);
    const entry = backend.entries.get('testperiodicerror');
    if (!entry) throw new Error('no entry for testperiodicerror');
    entry.lastRunAt = DateTime.now().minus({ seconds: 50 });
    expect(backend.nextScheduled(['testperiodicerror'])?.[1]).to.be.within(9, 10.1);
    await backend.queueTask('testperiodicerror');
    expect(entry.totalRunCount).to.equal(1);
    expect(backend.nextScheduled(['testperiodicerror'])?.[1]).to.be.within(59, 60);
  });

  it('lists jobs with pulsar\'s fields, a callable canOverlap as maybe, and the schedule of periodic ones', () => {
    const list = new Map(open(true).jobList());
    expect(list.get('addition')).to.include({ type: 'regular', can_overlap: true, doc_syntax: 'markdown' });
    expect(list.get('notoverlap')).to.include({ can_overlap: false });
    expect(list.get('standarddeviation')).to.include({ can_overlap: 'maybe' });
    expect(list.get('testperiodic')).to.include({ type: 'periodic', run_every: 5, runs_count: 0 });
    expect(list.get('testperiodic')?.next_run).to.be.a('number');
    expect(open(false).jobList(['addition']).map(([name]) => name)).to.deep.equal(['addition']);
  });

  it('broadcasts task_progress and keeps the value in meta.progress', async () => {
    const store = new MemoryStore('sched');
    const producer = open(false, store);
    startWorker(open(false, store), { id: 'w-progress', concurrency: 'inline', pid: process.pid });
    await producer.ensureSubscribed();
    const progressed = nextEvent(producer, 'task_progress');
    const id = (await producer.queueTask('progress', { value: 0.75 })) as string;
    expect(await progressed).to.equal(id);
    const task = await producer.waitForTask(id, 30);
    expect(task?.status).to.equal(SUCCESS);
    expect(task?.meta.progress).to.equal(0.75);
  });
});
