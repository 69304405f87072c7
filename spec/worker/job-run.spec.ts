/**
 * JobRun, one run of a job as a state machine: the status it leaves (value, error, retry, too
 * large a result, timeout), told once; a timer only for a task with a timeout; a delivery lost
 * before the job started keeps the job from running, and one lost while it runs aborts its signal.
 */
import { expect } from 'chai';
import { Job, type JobConsumer } from '../../src/job/job.js';
import type { JsonObject } from '../../src/model/json.js';
import { FAILURE, RETRY, REVOKED, STARTED, SUCCESS, type TaskStatus } from '../../src/model/states.js';
import type { WireTask } from '../../src/model/task.js';
import { JobRun, type RunJobOptions } from '../../src/worker/run-job.js';
import type { TaskConsumer } from '../../src/worker/consumer.js';
import { wireTask } from '../support/wire-task.js';

class Scripted extends Job {
  runs = 0;
  signals: AbortSignal[] = [];
  constructor(private readonly body: (consumer: JobConsumer, kwargs: JsonObject) => unknown) {
    super();
  }
  run(consumer: JobConsumer, kwargs: JsonObject): unknown {
    this.runs += 1;
    return this.body(consumer, kwargs);
  }
}

/** Runs `job` on a started task; resolves with the statuses told (once the first is told). */
function runOnce(job: Job, fields: Partial<WireTask> = {}, options: Partial<RunJobOptions> = {}) {
  const task = wireTask({ status: STARTED, ...fields });
  const told: (TaskStatus | null)[] = [];
  let tell: () => void = () => undefined;
  const outcome = new Promise<void>((resolve) => (tell = resolve));
  const run = new JobRun(task, job, { stuckGraceMs: 50, maxResultBytes: 1000, onStuck: () => undefined, ...options }, (status) => {
    told.push(status);
    tell();
  });
  // The consumer a job gets: only its signal matters here.
  const consumer = { get signal() { return run.signal; } } as unknown as TaskConsumer;
  return { task, told, outcome, run, consumer };
}

describe('JobRun', () => {
  it('ends SUCCESS with a copy of the value, FAILURE past the size limit, RETRY then FAILURE on errors', async () => {
    const value = { n: 1 };
    const ok = runOnce(new Scripted(async () => value));
    ok.run.start(ok.consumer);
    await ok.outcome;
    expect(ok.told).to.deep.equal([SUCCESS]);
    expect(ok.task.result).to.deep.equal({ n: 1 });
    expect(ok.task.result).not.to.equal(value);

    const sync = runOnce(new Scripted(() => 'x'.repeat(2000)));
    sync.run.start(sync.consumer);
    await sync.outcome;
    expect(sync.told).to.deep.equal([FAILURE]);

    const retried = runOnce(new Scripted(() => { throw new Error('boom'); }), { max_retries: 1 });
    retried.run.start(retried.consumer);
    await retried.outcome;
    expect(retried.told).to.deep.equal([RETRY]);
    expect(retried.task).to.include({ retries: 1, result: 'boom' });

    const failed = runOnce(new Scripted(() => Promise.reject(new Error('no'))));
    failed.run.start(failed.consumer);
    await failed.outcome;
    expect(failed.told).to.deep.equal([FAILURE]);
    expect(failed.task.stacktrace).to.match(/Error: no/);
  });

  it('sets no timer for a task without a timeout', async () => {
    const original = globalThis.setTimeout;
    let timers = 0;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      timers += 1;
      return original(...args);
    }) as typeof setTimeout;
    try {
      const r = runOnce(new Scripted(async () => 1));
      r.run.start(r.consumer);
      await r.outcome;
      expect(r.told).to.deep.equal([SUCCESS]);
    } finally {
      globalThis.setTimeout = original;
    }
    expect(timers).to.equal(0);
  });

  it('ends REVOKED once a timed-out job settled, its signal aborted, and calls a job that ignores it stuck', async () => {
    let finish: () => void = () => undefined;
    let stuck = 0;
    const job = new Scripted((consumer) => new Promise<void>((resolve) => {
      finish = resolve;
      void consumer.signal;
    }));
    const r = runOnce(job, { timeout: 0.02 }, { stuckGraceMs: 20, onStuck: () => { stuck += 1; finish(); } });
    r.run.start(r.consumer);
    await r.outcome;
    expect(r.told).to.deep.equal([REVOKED]);
    expect(r.run.signal.aborted).to.equal(true);
    expect(stuck).to.equal(1);
    expect(r.task.result).to.match(/timed out/);
  });

  it('does not run a job whose delivery was lost before it started, and aborts one that runs', async () => {
    const before = new Scripted(() => 1);
    const r = runOnce(before);
    r.run.start(r.consumer);
    r.run.lost();
    await new Promise((resolve) => setImmediate(resolve));
    expect(before.runs).to.equal(0);
    expect(r.told).to.deep.equal([null]);

    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (started = resolve));
    const during = new Scripted(() => {
      started();
      return new Promise(() => undefined);
    });
    const d = runOnce(during);
    d.run.start(d.consumer);
    await running;
    d.run.lost();
    d.run.lost();
    expect(d.told).to.deep.equal([null]);
    expect(d.run.signal.aborted).to.equal(true);
  });

  it('runs the jobs started together from one setImmediate, and a job started later after what was scheduled before it', async () => {
    const order: string[] = [];
    const make = (name: string) => runOnce(new Scripted(() => order.push(name)));
    const [a, b, c] = [make('a'), make('b'), make('c')];
    // A callback that runs ahead of a and b schedules something (a store write, say), then starts c:
    // c's job must come after it, not join the batch of a and b, which runs first.
    setImmediate(() => {
      setImmediate(() => order.push('scheduled before c started'));
      c.run.start(c.consumer);
    });
    a.run.start(a.consumer);
    b.run.start(b.consumer);
    await Promise.all([a.outcome, b.outcome, c.outcome]);
    expect(order).to.deep.equal(['a', 'b', 'scheduled before c started', 'c']);
    expect([a.told, b.told, c.told]).to.deep.equal([[SUCCESS], [SUCCESS], [SUCCESS]]);
  });
});
