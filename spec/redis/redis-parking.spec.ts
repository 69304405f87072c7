/**
 * Parked workers (_lib.lua: wake): a worker whose pull found the queue drained is parked while it
 * waits on BLPOP, and a task queued then wakes the worker parked last, on its own nudge list, not
 * the one that waited longest. The others sleep on; more tasks than parked workers also wake them
 * on the app's list; a worker that stops or is lost, or whose parking lapsed, is woken no more.
 */
import { expect } from 'chai';
import { TaskBackend } from '../../src/producer/backend.js';
import { createRedisStore, type RedisStore } from '../../src/backends/redis/redis.js';
import type { Delivery } from '../../src/store/contract.js';
import { eventually } from '../support/runtime.js';
import { specUrl } from './redis-env.js';
import { redisSuite } from './redis-suite.js';

describe('redis:// parked workers', function () {
  const suite = redisSuite();

  /** A producer backend and two worker-side stores (each its own connections) of a fresh app. */
  function app(): { producer: TaskBackend; a: RedisStore; b: RedisStore } {
    const name = `park-${Math.random().toString(36).slice(2, 8)}`;
    const producer = new TaskBackend(createRedisStore(specUrl(), name), { name, url: specUrl(), registry: suite.registry });
    const a = createRedisStore(specUrl(), name);
    const b = createRedisStore(specUrl(), name);
    suite.closing.push(() => producer.close(0), () => a.close(), () => b.close());
    return { producer, a, b };
  }

  /** The workers parked now, parked last first. */
  const parked = (store: RedisStore): Promise<string[]> => suite.raw.zrevrange(store.keys.parked, 0, -1);

  /** Starts a pull of `worker` that waits up to `waitMs`; resolves once its worker is parked. */
  async function park(store: RedisStore, worker: string, waitMs = 10_000, max = 5): Promise<{ pulled: Promise<Delivery[]> }> {
    const pulled = store.pull({ worker, max, leaseMs: 30_000, waitMs });
    await eventually(async () => (await parked(store)).includes(worker), `${worker} parked`);
    // In an object: an async function returning the promise itself would wait for it.
    return { pulled };
  }

  it('wakes the worker parked last, on its own list, for a task queued while two wait; the other sleeps on', async () => {
    const { producer, a, b } = app();
    const { pulled: first } = await park(a, 'wa');
    const { pulled: last } = await park(b, 'wb');
    const id = await producer.queueTask('addition', { a: 1, b: 2 });
    expect((await last).map((d) => d.task.id)).to.deep.equal([id]);
    // wa was not woken: still parked, no nudge and no token on the app's list (it cannot wake).
    expect(await parked(a)).to.include('wa');
    expect(await suite.raw.llen(a.keys.nudge('wa'))).to.equal(0);
    expect(await suite.raw.llen(a.keys.wakeup)).to.equal(0);
    // wb is interrupted (it stops; it keeps the task it holds): the next task goes to wa.
    await b.interrupt('wb');
    const next = await producer.queueTask('addition', { a: 2, b: 2 });
    expect((await first).map((d) => d.task.id)).to.deep.equal([next]);
  });

  it('wakes a worker parked after its pull brought tasks before one parked since after an empty wait', async () => {
    const { producer, a, b } = app();
    const first = await producer.queueTask('addition', { a: 1, b: 2 });
    // wa's pull brings the task and finds the queue drained: wa is parked as a working worker.
    const got = await a.pull({ worker: 'wa', max: 5, leaseMs: 30_000, waitMs: 10_000 });
    expect(got.map((d) => d.task.id)).to.deep.equal([first]);
    // wb parks later, after a pull that brought nothing.
    const { pulled: waiting } = await park(b, 'wb');
    await producer.queueTask('addition', { a: 2, b: 2 });
    expect(await suite.raw.llen(a.keys.nudge('wa'))).to.equal(1);
    expect(await parked(a)).to.deep.equal(['wb']);
    await b.interrupt('wb');
    expect(await waiting).to.deep.equal([]);
  });

  it('wakes the others on the app list when more tasks come than workers are parked', async () => {
    const { producer, a, b } = app();
    const { pulled: first } = await park(a, 'wa', 10_000, 1);
    const { pulled: second } = await park(b, 'wb', 10_000, 1);
    const ids = await producer.queueTasks([1, 2, 3].map((n) => ({ jobName: 'addition', kwargs: { a: n, b: 1 } })));
    // Each parked worker nudged on its own list, one token on the app's list for the third task.
    const got = [...(await first), ...(await second)].map((d) => d.task.id);
    expect(got).to.have.length(2);
    expect(ids).to.include.members(got);
    expect(await suite.raw.llen(a.keys.wakeup)).to.equal(1);
    expect(await parked(a)).to.deep.equal([]);
  });

  it('wakes a worker no more once it stopped: releasing all it holds, or an interrupt, unparks it', async () => {
    const { a, b } = app();
    const { pulled: waiting } = await park(a, 'wa');
    await a.release('wa');
    expect(await waiting).to.deep.equal([]);
    expect(await parked(a)).to.not.include('wa');
    const { pulled: other } = await park(b, 'wb');
    await b.interrupt('wb');
    expect(await other).to.deep.equal([]);
    expect(await parked(b)).to.not.include('wb');
  });

  it('unparks a worker that hands tasks back: they wake another worker', async () => {
    const { producer, a, b } = app();
    const id = (await producer.queueTask('addition', { a: 1, b: 2 })) as string;
    const [delivery] = await a.pull({ worker: 'wa', max: 5, leaseMs: 30_000, waitMs: 10_000 });
    expect(delivery?.task.id).to.equal(id);
    const { pulled: waiting } = await park(b, 'wb');
    // wa (parked after its pull brought a task) hands it back, as a worker that is stopping does:
    // no nudge for wa, which waits for nothing now; wb is woken and takes it.
    expect(await a.release('wa', [{ id, token: (delivery as Delivery).token }])).to.deep.equal([id]);
    expect(await suite.raw.llen(a.keys.nudge('wa'))).to.equal(0);
    expect((await waiting).map((d) => d.task.id)).to.deep.equal([id]);
    expect(await parked(a)).to.not.include('wa');
  });

  it('unparks a lost worker when its tasks are recovered, and skips then drops a parking that lapsed', async () => {
    const { producer, a } = app();
    const key = a.keys.parked;
    // Scores: when the parking lapses (ms), plus 1e13 for a worker whose pull brought tasks.
    await suite.raw.zadd(key, Date.now() + 600_000, 'lost', 1, 'lapsed', 1e13 + 1, 'lapsed-working');
    await a.recover({ maxRedeliveries: 1, worker: 'lost' });
    expect(await suite.raw.zrange(key, 0, -1)).to.deep.equal(['lapsed', 'lapsed-working']);
    // A lapsed parking gets no nudge: the task's token goes to the app's list.
    await producer.queueTask('addition', { a: 1, b: 2 });
    expect(await suite.raw.llen(a.keys.nudge('lapsed'))).to.equal(0);
    expect(await suite.raw.llen(a.keys.nudge('lapsed-working'))).to.equal(0);
    expect(await suite.raw.llen(a.keys.wakeup)).to.equal(1);
    await a.recover({ maxRedeliveries: 1 });
    expect(await suite.raw.zrange(key, 0, -1)).to.deep.equal([]);
  });

  it('still hands a task whose nudge went to a worker that no longer waits to another, once its wait ends', async () => {
    const { producer, a } = app();
    const { pulled: waiting } = await park(a, 'wa', 1500);
    // A worker that died parked, its parking not yet lapsed nor recovered: parked after wa.
    await suite.raw.zadd(a.keys.parked, Date.now() + 600_000, 'dead');
    const id = await producer.queueTask('addition', { a: 1, b: 2 });
    expect(await suite.raw.llen(a.keys.nudge('dead'))).to.equal(1);
    expect(await suite.raw.pttl(a.keys.nudge('dead'))).to.be.greaterThan(0);
    // wa's wait ends (1.5 s) and the pull sent with it takes the task.
    expect((await waiting).map((d) => d.task.id)).to.deep.equal([id]);
  });

  // Redis answers a BLPOP's timeout on its next cron tick, not at the timeout (every 100 ms at its
  // default hz of 10: a wait of 10 ms ended after 99, one of 310 after 400): a worker that waited
  // for a delayed task's eta that way started it up to 100 ms late, and under load two delayed
  // tasks due 200 ms apart started together (backend contract: "does not start a task before its
  // delay or eta", 1 run of 5 under load on redis+cluster://).
  it('ends a wait for a delayed task itself at the eta, with a token on its own nudge list, instead of waiting for the BLPOP to time out', async () => {
    const { producer, a } = app();
    const [id] = await producer.queueTasks([{ jobName: 'addition', kwargs: { a: 1, b: 2 }, options: { delay: 0.3 } }]);
    const monitor = await suite.raw.monitor();
    const sent: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => sent.push(args));
    try {
      const got = await a.pull({ worker: 'wa', max: 5, leaseMs: 30_000, waitMs: 10_000 });
      expect(got.map((d) => d.task.id)).to.deep.equal([id]);
      // The monitor's stream comes on its own connection: waited for, not read at once.
      const nudged = (args: string[]) => args[0]?.toLowerCase() === 'lpush' && args[1] === a.keys.nudge('wa');
      await eventually(async () => sent.some(nudged), "the puller's own wake-up at the eta", 10_000);
      expect(sent.filter(nudged)).to.have.length(1);
    } finally {
      monitor.disconnect();
    }
  });
});
