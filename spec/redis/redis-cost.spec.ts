/**
 * What a task costs Redis on redis://: the commands Redis runs for it (sent and inside scripts,
 * PUBLISH included), counted exactly by INFO commandstats on a redis-server this spec owns, while
 * a batch of tasks is queued, pulled, started and finished as a worker does it (the starts of one
 * pull in one turn, the finishes in one turn). And the broadcasts of one script run travel as one
 * message per event, each id still reaching listeners as an event of its own.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/backends/redis/redis.js';
import { STARTED, SUCCESS, type TaskStatus } from '../../src/model/states.js';
import type { Delivery, QueueRequestOptions, TaskEvent } from '../../src/store/contract.js';
import { TaskBackend } from '../../src/producer/backend.js';
import { JobRegistry } from '../../src/job/registry.js';
import { redisServerInstalled, TestRedisServer } from '../support/redis-server.js';
import { wireTask } from './redis-tasks.js';

describe('redis:// cost per task', function () {
  this.timeout(120_000);
  let server: TestRedisServer;
  let admin: Redis;
  const stores: RedisStore[] = [];

  before(async function () {
    if (!redisServerInstalled()) {
      if (process.env.CI) throw new Error('redis-server is not installed (CI never skips the Redis specs)');
      console.warn('\n!!! SKIPPING the cost spec: no redis-server binary (set REDIS_SERVER) !!!\n');
      this.skip();
    }
    server = await TestRedisServer.start();
    admin = new Redis(server.url(), { maxRetriesPerRequest: 1 });
  });

  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    admin?.disconnect();
    await server?.destroy();
  });

  const open = (name: string): RedisStore => {
    const store = new RedisStore(`${server.url()}?namespace=cost`, { name });
    stores.push(store);
    return store;
  };

  /** Calls per command Redis ran while `fn` ran (the reading's own INFO left out). */
  async function commandsDuring(fn: () => Promise<void>): Promise<Map<string, number>> {
    const read = async () => {
      const out = new Map<string, number>();
      for (const m of (await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1] as string, Number(m[2]));
      return out;
    };
    const before = await read();
    await fn();
    const after = await read();
    const delta = new Map<string, number>();
    for (const [cmd, calls] of after) {
      const d = calls - (before.get(cmd) ?? 0) - (cmd === 'info' ? 1 : 0);
      if (d > 0) delta.set(cmd, d);
    }
    return delta;
  }

  /** The commands `ran`, most run first, for an assertion's message. */
  const reportOf = (ran: Map<string, number>): string => [...ran].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ');

  /** Finishes `deliveries` of `worker` as SUCCESS in one turn (one finish script), each saved. */
  async function finishAll(store: RedisStore, worker: string, deliveries: Delivery[]): Promise<void> {
    const ended = { status: SUCCESS as TaskStatus, worker, result: 1, time_started: Date.now() / 1000, time_ended: Date.now() / 1000 };
    const finished = deliveries.map((d) => store.finish({ ...d.task, ...ended }, { worker, token: d.token }));
    expect(await Promise.all(finished)).to.deep.equal(deliveries.map(() => true));
  }

  /** Queues one task, pulls it (the queue is then drained: the worker parks) and ends it in the turn it started. */
  async function oneAtATime(store: RedisStore, k: number): Promise<void> {
    await store.queue([wireTask({ kwargs: { a: k, b: 1 } })]);
    const [d] = await store.pull({ worker: 'w', max: 50, leaseMs: 30_000, waitMs: 5_000 });
    if (!d) throw new Error('nothing pulled');
    const now = Date.now() / 1000;
    const started = { ...d.task, status: STARTED as TaskStatus, worker: 'w', time_started: now };
    const fence = { worker: 'w', token: d.token };
    const [saved, done] = await Promise.all([store.start(started, fence), store.finish({ ...started, status: SUCCESS, result: k, time_ended: now }, fence)]);
    expect([saved, done]).to.deep.equal([true, true]);
  }

  it('runs at most 8 Redis commands per task, PUBLISH included, from queue to finish (batches of 50)', async () => {
    const store = open('cost');
    await store.now(); // connected, scripts aside
    const tasks = Array.from({ length: 100 }, (_, i) => wireTask({ kwargs: { a: i, b: 1 } }));
    const ran = await commandsDuring(async () => {
      await store.queue(tasks);
      for (let round = 0; round < 2; round++) {
        const deliveries = await store.pull({ worker: 'w', max: 50, leaseMs: 30_000, waitMs: 0 });
        expect(deliveries).to.have.length(50);
        const fence = (token: number) => ({ worker: 'w', token });
        const started = deliveries.map((d) => store.start({ ...d.task, status: STARTED, worker: 'w', time_started: Date.now() / 1000 }, fence(d.token)));
        expect(await Promise.all(started)).to.deep.equal(deliveries.map(() => true));
        const finished = deliveries.map((d) =>
          store.finish({ ...d.task, status: SUCCESS, worker: 'w', result: 1, time_started: Date.now() / 1000, time_ended: Date.now() / 1000 }, fence(d.token)),
        );
        expect(await Promise.all(finished)).to.deep.equal(deliveries.map(() => true));
      }
    });
    const total = [...ran.values()].reduce((s, n) => s + n, 0);
    const report = reportOf(ran);
    console.log(`      ${(total / 100).toFixed(2)} commands per task: ${report}`);
    expect(total / 100, report).to.be.at.most(8);
    // One broadcast per event and script run: 1 queue, 2 × (start + finish).
    expect(ran.get('publish'), report).to.equal(5);
    const [sample] = await store.get([tasks[0]!.id]);
    expect([sample?.status, sample?.result]).to.deep.equal([SUCCESS, 1]);
  });

  it('lists tasks that end in queue order without reading a bucket of their ready listing (batches of 50)', async () => {
    const store = open('listing');
    const tasks = Array.from({ length: 400 }, (_, i) => wireTask({ kwargs: { a: i, b: 1 } }));
    await store.queue(tasks);
    const ran = await commandsDuring(async () => {
      for (let round = 0; round < 8; round++) await finishAll(store, 'w', await store.pull({ worker: 'w', max: 50, leaseMs: 30_000, waitMs: 0 }));
    });
    const report = reportOf(ran);
    // A bucket per batch (each leaves room in its bucket for a batch that ends late: lua/_ready.lua,
    // room_for), written by RPUSH only; the one LRANGE a batch reads the pending list of entries
    // (empty: no run ended a few tasks), no bucket.
    expect(ran.get('lrange') ?? 0, report).to.equal(8);
    expect(ran.get('del') ?? 0, report).to.equal(0);
    expect(await admin.zcard(`cost:{listing}:rx:${SUCCESS}`)).to.equal(8);
  });

  it('lists the batches of two workers that finish in turns, each after the other\'s later one, without reading a bucket', async () => {
    const store = open('turns');
    const tasks = Array.from({ length: 400 }, (_, i) => wireTask({ kwargs: { a: i, b: 1 } }));
    await store.queue(tasks);
    const ran = await commandsDuring(async () => {
      for (let pair = 0; pair < 4; pair++) {
        const first = await store.pull({ worker: 'w1', max: 50, leaseMs: 30_000, waitMs: 0 });
        const second = await store.pull({ worker: 'w2', max: 50, leaseMs: 30_000, waitMs: 0 });
        // The batch pulled second ends first.
        await finishAll(store, 'w2', second);
        await finishAll(store, 'w1', first);
      }
    });
    const report = reportOf(ran);
    // No bucket split: none read back, none deleted to be written again (the one LRANGE a batch
    // reads the pending list of entries, empty).
    expect(ran.get('lrange') ?? 0, report).to.equal(8);
    expect(ran.get('del') ?? 0, report).to.equal(0);
    const listed: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await store.list({ status: [SUCCESS] }, { limit: 70, cursor });
      listed.push(...page.tasks.map((t) => t.id));
      cursor = page.cursor;
    } while (cursor !== null);
    expect(listed).to.deep.equal(tasks.map((t) => t.id).reverse());
  });

  it('runs the fewest commands for tasks that go one at a time (queued, pulled, started and finished alone)', async () => {
    const store = open('alone');
    // Two tasks first: the ready listing has a bucket, as it has after the first task.
    for (let k = 0; k < 2; k++) await oneAtATime(store, k);
    const ran = await commandsDuring(async () => {
      for (let k = 2; k < 42; k++) await oneAtATime(store, k);
    });
    const report = reportOf(ran);
    const per = (cmd: string) => (ran.get(cmd) ?? 0) / 40;
    // The ready listing: its entry pushed on the pending list (RPUSH, beside the ended list's), no
    // bucket looked for (ZRANGE, ZREVRANGEBYSCORE, ZRANGEBYSCORE), read (LLEN, HGET of its highest
    // score) or written until 128 are pending.
    expect(per('rpush'), report).to.equal(2);
    expect(per('zrangebyscore'), report).to.equal(0);
    expect(per('llen'), report).to.equal(0);
    // The queue's wake-up of the parked worker: one ZPOPMAX finds it and takes it off.
    expect(per('zpopmax'), report).to.equal(1);
    expect(per('zrevrangebyscore'), report).to.equal(0);
    // The pull: no delayed task read twice, WIDE written with the entries, one DEL when drained.
    expect(per('zrange'), report).to.equal(1);
    expect(per('hsetnx'), report).to.equal(0);
    expect(per('del'), report).to.equal(1);
    // The finish carries its start: no STARTED listing score read, nor the QUEUED one (the pull
    // read the task QUEUED with its listing score, which the finish sends).
    expect(per('zmscore'), report).to.equal(0);
    const total = [...ran.values()].reduce((a, b) => a + b, 0) / 40;
    // The finish announces its task itself (its hash read once), behind a PING that makes Redis
    // write the waiter's broadcast before the finish's reply: three scripts per task.
    expect(per('fcall'), report).to.equal(3);
    expect(per('ping'), report).to.equal(1);
    expect(per('hget'), report).to.equal(0);
    // The lease is the worker's (no entry per task): its count of tasks held, one HINCRBY at the
    // pull and one at the finish.
    expect(per('hincrby'), report).to.equal(2);
    expect(total, report).to.be.at.most(38);
    const listed = await store.list({ status: [SUCCESS] }, { limit: 100, cursor: null });
    expect(listed.tasks).to.have.length(42);
  });

  it('broadcasts the ids of one script run in one message; each reaches listeners as its own event', async () => {
    const store = open('bulk');
    const raw = new Redis(server.url());
    const seen: [TaskEvent, string][] = [];
    const unsubscribe = await store.subscribe((event, id) => seen.push([event, id]));
    try {
      const channel = store.channel('task_queued');
      await raw.subscribe(channel);
      const message = new Promise<string>((resolve) => raw.once('message', (_c: string, m: string) => resolve(m)));
      const tasks = [wireTask(), wireTask(), wireTask()];
      await store.queue(tasks);
      expect(await message).to.equal(tasks.map((t) => t.id).join(' '));
      while (seen.length < 3) await new Promise((r) => setTimeout(r, 5));
      expect(seen).to.deep.equal(tasks.map((t) => ['task_queued', t.id]));
    } finally {
      await unsubscribe();
      raw.disconnect();
    }
  });

  it('looks for no task stored under the ids a producer just made; any other queue looks for each of its tasks', async () => {
    const store = open('fresh');
    const asked: (QueueRequestOptions | undefined)[] = [];
    const queue = store.queue.bind(store);
    store.queue = (tasks, options) => {
      asked.push(options);
      return queue(tasks, options);
    };
    const producer = new TaskBackend(store, { name: 'fresh', url: server.url(), registry: await JobRegistry.load(['jobs/*']) });
    await store.now(); // connected, scripts aside
    const made = await commandsDuring(async () => {
      await producer.queueTask('addition', { a: 1, b: 2 });
      await producer.queueTasks(Array.from({ length: 20 }, (_, i) => ({ jobName: 'addition', kwargs: { a: i, b: 1 } })));
      await producer.queueTask('addition', { a: 2, b: 2 }, { idempotencyKey: 'order-1' });
    });
    expect(made.get('exists') ?? 0, reportOf(made)).to.equal(0);
    expect(asked.map((options) => options?.freshIds)).to.deep.equal([true, true, true]);
    expect(await store.numQueued()).to.equal(22);
    // Tasks built elsewhere (a periodic claim, a caller's own ids), or the same ids sent again
    // after a lost reply: each looked for, a task already stored neither stored nor queued again.
    const tasks = Array.from({ length: 20 }, () => wireTask());
    const checked = await commandsDuring(async () => void (await store.queue(tasks)));
    expect(checked.get('exists'), reportOf(checked)).to.equal(20);
    expect(await store.queue(tasks)).to.deep.equal(tasks.map((t) => t.id));
    expect(await store.numQueued()).to.equal(42);
    await producer.close(0);
  });

  it('refuses a task id with a space (broadcasts separate ids by spaces), storing nothing', async () => {
    const store = open('spaces');
    let error: unknown = null;
    await store.queue([wireTask({ id: 'a b' })]).catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(TypeError);
    expect(String(error)).to.match(/without spaces/);
    expect(await store.numQueued()).to.equal(0);
  });
});
