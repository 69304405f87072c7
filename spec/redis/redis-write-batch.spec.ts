/**
 * The redis:// store runs the starts (and the finishes) a worker makes in one turn of the event
 * loop as one script: each task is still checked and answered on its own, and a command issued
 * after a start still reaches Redis after it.
 */
import { expect } from 'chai';
import { TaskBackend } from '../../src/producer/backend.js';
import { createRedisStore, type RedisStore } from '../../src/backends/redis/redis.js';
import { JobRegistry } from '../../src/job/registry.js';
import { STARTED, SUCCESS } from '../../src/model/states.js';
import type { WireTask } from '../../src/model/task.js';
import type { Fence } from '../../src/store/contract.js';
import { dropNamespace, redisAvailable, specUrl } from './redis-env.js';
import { countRuns } from './redis-tasks.js';

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
});
