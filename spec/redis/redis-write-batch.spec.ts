/**
 * The redis:// store runs the starts (and the finishes) a worker makes in one turn of the event
 * loop as one script: each task is still checked and answered on its own, and a command issued
 * after a start still reaches Redis after it. A finish written in the same turn as its start
 * carries that start: one finish script saves both, and broadcasts task_started before task_done.
 */
import { expect } from 'chai';
import { TaskBackend } from '../../src/producer/backend.js';
import { createRedisStore, type RedisStore } from '../../src/backends/redis/redis.js';
import { JobRegistry } from '../../src/job/registry.js';
import { QUEUED, STARTED, SUCCESS } from '../../src/model/states.js';
import type { WireTask } from '../../src/model/task.js';
import type { Fence, TaskEvent } from '../../src/store/contract.js';
import { dropNamespace, redisAvailable, specUrl } from './redis-env.js';
import { countRuns } from './redis-tasks.js';
import { scripts } from '../../src/backends/redis/redis-scripts.js';

describe('redis:// batched worker writes', function () {
  let registry: JobRegistry;
  const closing: (() => Promise<void>)[] = [];

  before(async function () {
    if (!(await redisAvailable())) this.skip();
    registry = await JobRegistry.load(['jobs/*']);
  });

  afterEach(async () => {
    await Promise.all(closing.splice(0).map((close) => close()));
  });

  after(async () => {
    await dropNamespace().catch(() => undefined);
  });

  /** A producer and a bare store of a fresh app, with `n` tasks pulled by worker 'w'. */
  async function pulled(n: number): Promise<{ store: RedisStore; tasks: WireTask[]; fences: Fence[] }> {
    const name = `batch-${Math.random().toString(36).slice(2, 8)}`;
    const producer = new TaskBackend(createRedisStore(specUrl(), name), { name, url: specUrl(), registry });
    const store = createRedisStore(specUrl(), name);
    closing.push(() => producer.close(0), () => store.close());
    await producer.queueTasks(Array.from({ length: n }, (_, i) => ({ jobName: 'addition', kwargs: { a: i, b: 1 } })));
    const deliveries = await store.pull({ worker: 'w', max: n, leaseMs: 30_000, waitMs: 0 });
    expect(deliveries).to.have.length(n);
    return { store, tasks: deliveries.map((d) => d.task), fences: deliveries.map((d) => ({ worker: 'w', token: d.token })) };
  }

  /** Runs a task to its end with a job that took `seconds` (start awaited first): the store learns. */
  async function ranFor(store: RedisStore, task: WireTask, fence: Fence, seconds: number): Promise<void> {
    const started: WireTask = { ...task, status: STARTED, worker: 'w', time_started: 1_700_000_000 };
    expect(await store.start(started, fence)).to.equal(true);
    expect(await store.finish({ ...started, status: SUCCESS, result: 0, time_ended: 1_700_000_000 + seconds }, fence)).to.equal(true);
  }

  /** The arguments the start script runs are given while `fn` runs. */
  async function startArgsOf(fn: (args: (string | number)[]) => Promise<void>): Promise<(string | number)[]> {
    const startArgs: (string | number)[] = [];
    const run = scripts.start.run;
    scripts.start.run = function (this: typeof scripts.start, ...args: Parameters<typeof run>) {
      startArgs.push(...args[2]);
      return run.apply(this, args);
    };
    try {
      await fn(startArgs);
    } finally {
      scripts.start.run = run;
    }
    return startArgs;
  }

  /** Resolves after the setImmediate callbacks queued before this call have run. */
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('starts and finishes the tasks of one turn in one script run each, answering each task on its own', async () => {
    const { store, tasks, fences } = await pulled(3);
    const [a, b, c] = tasks as [WireTask, WireTask, WireTask];
    const [fa, fb, fc] = fences as [Fence, Fence, Fence];
    const started: boolean[] = [];
    const startRuns = await countRuns('start', async () => {
      // b is started by a worker that does not own it: only b's start is refused.
      started.push(...(await Promise.all([
        store.start({ ...a, status: STARTED, worker: 'w' }, fa),
        store.start({ ...b, status: STARTED, worker: 'x' }, { ...fb, worker: 'x' }),
        store.start({ ...c, status: STARTED, worker: 'w' }, fc),
      ])));
    });
    expect(started).to.deep.equal([true, false, true]);
    expect(startRuns).to.equal(1);
    const finished: boolean[] = [];
    const finishRuns = await countRuns('finish', async () => {
      finished.push(...(await Promise.all([[a, fa] as const, [c, fc] as const].map(([t, f]) => store.finish({ ...t, status: SUCCESS, result: 'ok' }, f)))));
    });
    expect(finished).to.deep.equal([true, true]);
    expect(finishRuns).to.equal(1);
    const [sa, sb, sc] = await store.get([a.id, b.id, c.id]);
    expect([sa?.status, sb?.status, sc?.status]).to.deep.equal([SUCCESS, b.status, SUCCESS]);
  });

  it('sends a start before a command issued after it in the same turn', async () => {
    const { store, tasks, fences } = await pulled(1);
    const task = tasks[0] as WireTask;
    const starting = store.start({ ...task, status: STARTED, worker: 'w' }, fences[0] as Fence);
    // Not awaited: as unbatched, a read issued after the start sees it saved.
    const [seen] = await store.get([task.id]);
    expect(await starting).to.equal(true);
    expect(seen?.status).to.equal(STARTED);
    expect(seen?.worker).to.equal('w');
  });

  it('reads a task back exactly as its worker started and finished it (only changed fields are sent)', async () => {
    const { store, tasks, fences } = await pulled(1);
    const task = tasks[0] as WireTask;
    const fence = fences[0] as Fence;
    const started: WireTask = { ...task, status: STARTED, worker: 'w', time_started: 1_700_000_000.5 };
    expect(await store.start(started, fence)).to.equal(true);
    expect((await store.get([task.id]))[0]).to.deep.equal(started);
    const finished: WireTask = { ...started, status: SUCCESS, result: { sum: 1.25 }, time_ended: 1_700_000_001.25, meta: { note: 'done' } };
    expect(await store.finish(finished, fence)).to.equal(true);
    expect((await store.get([task.id]))[0]).to.deep.equal(finished);
  });

  it('saves the start of a quick job with its finish when both are written in one turn, broadcasting task_started then task_done', async () => {
    const { store, tasks, fences } = await pulled(3);
    const [a, b, c] = tasks as [WireTask, WireTask, WireTask];
    const [fa, fb, fc] = fences as [Fence, Fence, Fence];
    // The store learns that `addition` runs in under 20 ms.
    await ranFor(store, c, fc, 0.001);
    const events: [TaskEvent, string][] = [];
    let bothSeen: () => void = () => undefined;
    const seen = new Promise<void>((resolve) => (bothSeen = resolve));
    const unsubscribe = await store.subscribe((event, id) => {
      if (id === a.id && events.push([event, id]) === 2) bothSeen();
    });
    closing.push(unsubscribe);
    const started: WireTask = { ...a, status: STARTED, worker: 'w', time_started: 1_700_000_000.5 };
    const finished: WireTask = { ...started, status: SUCCESS, result: 2, time_ended: 1_700_000_000.502 };
    const answers: boolean[] = [];
    let finishRuns = 0;
    const startArgs = await startArgsOf(async () => {
      finishRuns = await countRuns('finish', async () => {
        // b only starts in this turn: its start goes in a start script.
        answers.push(...(await Promise.all([store.start(started, fa), store.start({ ...b, status: STARTED, worker: 'w' }, fb), store.finish(finished, fa)])));
      });
    });
    expect(answers).to.deep.equal([true, true, true]);
    expect(finishRuns).to.equal(1);
    expect(startArgs).to.include(b.id);
    expect(startArgs, 'a started by its finish').not.to.include(a.id);
    expect((await store.get([a.id]))[0]).to.deep.equal(finished);
    expect((await store.list({ status: [SUCCESS] }, { limit: 10, cursor: null })).tasks.map((t) => t.id).sort()).to.deep.equal([a.id, c.id].sort());
    expect((await store.list({ status: [STARTED] }, { limit: 10, cursor: null })).tasks.map((t) => t.id)).to.deep.equal([b.id]);
    expect((await store.list({ status: [QUEUED] }, { limit: 10, cursor: null })).tasks).to.deep.equal([]);
    await seen;
    expect(events).to.deep.equal([['task_started', a.id], ['task_done', a.id]]);
  });

  it('sends the start of a job not known to be quick before the job could run (from the first setImmediate)', async () => {
    const { store, tasks, fences } = await pulled(4);
    const [a, b, c, d] = tasks as [WireTask, WireTask, WireTask, WireTask];
    const [fa, fb, fc, fd] = fences as [Fence, Fence, Fence, Fence];
    /** Starts `task`; the start script's arguments one turn later, and once the start is answered. */
    const startOf = async (task: WireTask, fence: Fence): Promise<[(string | number)[], (string | number)[]]> => {
      let oneTurn: (string | number)[] = [];
      const all = await startArgsOf(async (args) => {
        const starting = store.start({ ...task, status: STARTED, worker: 'w', time_started: 1_700_000_000 }, fence);
        // What a worker's job runs from: a setImmediate queued behind the start.
        await nextTurn();
        oneTurn = [...args];
        expect(await starting).to.equal(true);
      });
      return [oneTurn, all];
    };
    // Nothing learned yet: sent before the job would run.
    expect((await startOf(a, fa))[0]).to.include(a.id);
    // A run under 20 ms: held one turn for its finish, then sent alone when none came.
    await ranFor(store, b, fb, 0.001);
    const [held, sent] = await startOf(c, fc);
    expect(held, 'a quick job: held one turn').to.deep.equal([]);
    expect(sent).to.include(c.id);
    // A run of 1 s: the job is not quick any more.
    expect(await store.finish({ ...c, status: SUCCESS, worker: 'w', time_started: 1_700_000_000, time_ended: 1_700_000_001, result: 0 }, fc)).to.equal(true);
    expect((await startOf(d, fd))[0]).to.include(d.id);
  });

  it('refuses both a start and its finish carried together under a stale delivery, saving nothing', async () => {
    const { store, tasks, fences } = await pulled(2);
    const task = tasks[0] as WireTask;
    // A quick job: its start waits for its finish.
    await ranFor(store, tasks[1] as WireTask, fences[1] as Fence, 0.001);
    const stale = { worker: 'w', token: (fences[0] as Fence).token + 1000 };
    const started: WireTask = { ...task, status: STARTED, worker: 'w' };
    const answers = await Promise.all([store.start(started, stale), store.finish({ ...started, status: SUCCESS, result: 2 }, stale)]);
    expect(answers).to.deep.equal([false, false]);
    expect((await store.get([task.id]))[0]).to.deep.equal(task);
    // The real delivery still starts and finishes.
    expect(await store.start(started, fences[0] as Fence)).to.equal(true);
    expect(await store.finish({ ...started, status: SUCCESS, result: 2 }, fences[0] as Fence)).to.equal(true);
  });
});

