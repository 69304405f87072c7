/**
 * What only a sharded queue promises (ShardedRedisStore, `?shards=K`): its tasks spread over K
 * hash tags (on a cluster, over its masters), lock and idempotency checks still atomic, tasks
 * found from their id, pulls that serve every shard and wake on any, periodic runs claimed once
 * even when a scheduler fails between claim and queue, and a number of shards that cannot change
 * under a live queue.
 */
import { expect } from 'chai';
import { ShardedRedisStore } from '../../src/backends/redis/redis-shards.js';
import { newTaskId } from '../../src/job/ids.js';
import { crc16, idOnShard, shardOf, shardTag, slotOf } from '../../src/backends/redis/redis-shard-route.js';
import { ImproperlyConfigured } from '../../src/model/errors.js';
import { SUCCESS } from '../../src/model/states.js';
import { JobRegistry } from '../../src/job/registry.js';
import { TaskBackend } from '../../src/producer/backend.js';
import type { WireTask } from '../../src/model/task.js';
import { TaskQueue } from '../../src/app/taskqueue.js';
import { withShards } from '../../src/store/schemes.js';
import { sharedCluster } from '../support/redis-cluster.js';
import { wireTask } from '../support/wire-task.js';
import { rejection } from '../support/rejection.js';
import { dropNamespace, NAMESPACE, rawClient, redisAvailable, specUrl } from './redis-env.js';

/** A wire task whose id hashes to `shard` of `k`. */
function taskOn(shard: number, k: number, fields: Partial<WireTask> = {}): WireTask {
  for (;;) {
    const t = wireTask(fields);
    if (shardOf(t.id, k) === shard) return t;
  }
}

describe('shard routing', () => {
  it('gives a task an id on the shard of its lock, in every form of id, the same each time', () => {
    for (const id of ['0123456789abcDEF', '0123456789abcdef0123456789abcdef', 'my-task', 'claim-x1', newTaskId()]) {
      for (const k of [2, 3, 6]) {
        for (let s = 0; s < k; s++) {
          const moved = idOnShard(id, s, k);
          expect(shardOf(moved, k)).to.equal(s);
          expect(idOnShard(id, s, k)).to.equal(moved);
        }
      }
    }
    expect(idOnShard('0123456789abcDEF', 1, 3)).to.match(/^0123456789[0-9A-Za-z]{6}$/);
    expect(idOnShard('0123456789abcdef0123456789abcdef', 1, 3)).to.match(/^0123456789abcdef0123456789abcdef\.[0-9a-f]{8}$/);
  });

  it("names each shard's hash tag in its K-th of the cluster's slots, as Redis hashes it", () => {
    expect(crc16('123456789')).to.equal(0x31c3);
    for (const name of ['app', 'shop.orders', 'x']) {
      expect(shardTag(name, 0, 1)).to.equal(name);
      for (const k of [2, 3, 6, 12]) {
        for (let i = 0; i < k; i++) {
          const slot = slotOf(shardTag(name, i, k));
          expect(slot, `${name} ${i}/${k}`).to.be.within((i * 16384) / k, ((i + 1) * 16384) / k);
          expect(shardTag(name, i, k)).to.match(new RegExp(`^${name.replace('.', '\\.')}:${i}(\\.\\d+)?$`));
        }
      }
    }
  });

  it('sets ?shards= into a backend URL, and refuses a conflict or local:// with shards', () => {
    expect(withShards('redis://h:1/0', 3)).to.equal('redis://h:1/0?shards=3');
    expect(withShards('redis+cluster://a:1,b:2/?namespace=x', 6)).to.equal('redis+cluster://a:1,b:2/?namespace=x&shards=6');
    expect(withShards('redis://h:1/0?shards=3', 3)).to.equal('redis://h:1/0?shards=3');
    expect(withShards('redis://h:1/0', undefined)).to.equal('redis://h:1/0');
    expect(() => withShards('redis://h:1/0?shards=2', 3)).to.throw(ImproperlyConfigured, /says shards=2/);
    expect(() => withShards('local://', 2)).to.throw(ImproperlyConfigured, /local:\/\//);
    expect(() => withShards('redis://h:1/0', 0)).to.throw(ImproperlyConfigured, /shards must be an integer ≥ 1/);
    expect(new TaskQueue({ taskBackend: 'redis://127.0.0.1:1/0', shards: 4, workers: 0 }).settings.taskBackend).to.equal('redis://127.0.0.1:1/0?shards=4');
  });
});

describe('a sharded queue on one Redis (shards=3)', function () {
  const K = 3;
  const url = specUrl({ shards: String(K) });
  let name = '';
  let stores: ShardedRedisStore[] = [];
  let registry: JobRegistry;

  const open = (k = K) => {
    const store = new ShardedRedisStore(specUrl({ shards: String(k) }), { name });
    stores.push(store);
    return store;
  };

  before(async function () {
    if (!(await redisAvailable())) this.skip();
    registry = await JobRegistry.load(['jobs/*']);
  });

  beforeEach(() => {
    name = `shards-${Math.random().toString(36).slice(2, 8)}`;
    stores = [];
  });

  afterEach(async () => {
    const store = new ShardedRedisStore(url, { name });
    await store.flush();
    await store.close();
    await Promise.all(stores.map((s) => s.close()));
  });

  after(() => dropNamespace());

  it('spreads tasks over every shard, each key under its shard hash tag, none under the app tag', async () => {
    const store = open();
    const ids = await store.queue(Array.from({ length: 60 }, () => wireTask()));
    expect(new Set(ids.map((id) => shardOf(id as string, K))).size).to.equal(K);
    const raw = rawClient();
    raw.on('error', () => undefined);
    try {
      await raw.connect();
      // Each shard lists its queued tasks (s:6) under its own tag.
      for (let s = 0; s < K; s++) expect(await raw.zcard(`${NAMESPACE}:{${shardTag(name, s, K)}}:s:6`), `shard ${s}`).to.be.above(0);
      expect(await raw.keys(`${NAMESPACE}:{${name}}:t:*`)).to.deep.equal([]);
      expect(await raw.get(`${NAMESPACE}:{${name}}:shards`)).to.equal('3');
    } finally {
      raw.disconnect();
    }
    expect((await store.get(ids as string[])).every((t) => t !== null)).to.equal(true);
    expect(await store.numQueued()).to.equal(60);
  });

  it('stores nothing on any shard when one task of a batch has a bad id or idempotency key', async () => {
    const store = open();
    const good = Array.from({ length: 30 }, () => wireTask());
    expect(new Set(good.map((t) => shardOf(t.id, K))).size, 'the good tasks span every shard').to.equal(K);
    expect(String(await rejection(store.queue([...good, wireTask({ id: 'a b' })])))).to.match(/without spaces/);
    const keys = [...good.map(() => null), ''];
    expect(String(await rejection(store.queue([...good, wireTask()], { idempotencyKeys: keys })))).to.match(/idempotency key must be a non-empty string/);
    expect(await store.numQueued()).to.equal(0);
  });

  it('keeps non-overlap locks atomic: one lock, one shard, and the task found from its id', async () => {
    const p = new TaskBackend(open(), { name, url, registry });
    const first = (await p.queueTask('notoverlap', { lag: 1 })) as string;
    expect(first).to.be.a('string');
    expect(await p.queueTask('notoverlap', { lag: 1 }), 'the lock is held').to.equal(null);
    const lock = (await p.getTask(first))!.lockId as string;
    expect(shardOf(first, K)).to.equal(shardOf(`lock:${lock}`, K));
    // Many producers at once: one task holds the lock.
    const racing = await Promise.all(Array.from({ length: 8 }, () => new TaskBackend(open(), { name, url, registry }).queueTask('notoverlap', { lag: 2 })));
    expect(racing.filter((id) => id !== null)).to.have.length(1);
  });

  it('serves every shard in turn: a full shard does not starve the others', async () => {
    const store = open();
    await store.queue(Array.from({ length: 30 }, () => taskOn(0, K)));
    const lone = [taskOn(1, K), taskOn(2, K)];
    await store.queue(lone);
    const firstThree: string[] = [];
    for (let i = 0; i < K; i++) {
      const [d] = await store.pull({ worker: 'w', max: 1, leaseMs: 60_000, waitMs: 0 });
      firstThree.push(d!.task.id);
    }
    expect(firstThree).to.include.members(lone.map((t) => t.id));
    // A pull of 12 takes from every shard that has tasks, not 12 from the first.
    await store.queue([taskOn(1, K), taskOn(2, K)]);
    const twelve = await store.pull({ worker: 'w', max: 12, leaseMs: 60_000, waitMs: 0 });
    expect(new Set(twelve.map((d) => shardOf(d.task.id, K)))).to.deep.equal(new Set([0, 1, 2]));
  });

  it('wakes a pull blocked on every shard when a task is queued on any of them, again and again', async () => {
    const worker = open();
    const producer = open();
    for (const shard of [2, 0, 1, 1]) {
      const pulled = worker.pull({ worker: 'blocked', max: 1, leaseMs: 60_000, waitMs: 50_000 });
      const task = taskOn(shard, K);
      await producer.queue([task]);
      const [d] = await pulled;
      expect(d?.task.id, `woken by shard ${shard}`).to.equal(task.id);
    }
  });

  it('ends a pull blocked on every shard when its worker is interrupted', async () => {
    const worker = open();
    const pulled = worker.pull({ worker: 'stopping', max: 1, leaseMs: 60_000, waitMs: 50_000 });
    await new Promise((r) => setTimeout(r, 100));
    await open().interrupt('stopping');
    expect(await pulled).to.deep.equal([]);
  });

  it('claims a periodic run once, and queues it even when its scheduler failed between claim and queue', async () => {
    const a = open();
    const b = open();
    const now = await a.now();
    const task = wireTask({ name: 'testperiodic' });
    const target = a.shards[shardOf(task.id, K)]!;
    const queue = target.queue.bind(target);
    target.queue = () => Promise.reject(new Error('Connection is closed.'));
    await rejection(a.claimRun('testperiodic', null, now, task));
    target.queue = queue;
    expect(await a.get([task.id])).to.deep.equal([null]);
    expect(await b.lastRuns()).to.deep.equal({ testperiodic: now });
    // The next claim (another scheduler) settles the journal first: the run's task is queued once.
    const next = wireTask({ name: 'testperiodic' });
    expect(await b.claimRun('testperiodic', now, now + 1000, next)).to.equal(next.id);
    expect((await b.get([task.id]))[0]?.id).to.equal(task.id);
    expect(await b.claimRun('testperiodic', now, now + 2000, wireTask({ name: 'testperiodic' })), 'claimed already').to.equal(false);
    expect(await b.numQueued()).to.equal(2);
  });

  it('refuses another number of shards while the queue holds tasks, and takes it once empty', async () => {
    const three = open();
    await three.queue([wireTask()]);
    const two = open(2);
    const err = await rejection(two.numQueued());
    expect(err).to.be.instanceOf(ImproperlyConfigured);
    expect((err as Error).message).to.match(/stored with 3 shards and holds 1 task: it cannot be opened with shards=2/);
    expect((await rejection(open(1).queue([wireTask()])) as Error).message).to.match(/stored with 3 shards/);
    await three.flush();
    expect(await two.queue([wireTask()])).to.have.length(1);
    expect((await rejection(open(3).numQueued()) as Error).message).to.match(/stored with 2 shards and holds 1 task/);
  });

  it('counts a finished task whose listing entry is still pending (not in its buckets) as held', async () => {
    const three = open();
    const [queued] = await three.queue([wireTask()]);
    const [d] = await three.pull({ worker: 'w', max: 1, leaseMs: 60_000, waitMs: 0 });
    expect(d?.task.id).to.equal(queued);
    const ended: WireTask = { ...d!.task, status: SUCCESS, worker: 'w', result: 1, time_ended: Date.now() / 1000 };
    expect(await three.finish(ended, { worker: 'w', token: d!.token })).to.equal(true);
    expect((await rejection(open(2).numQueued()) as Error).message).to.match(/stored with 3 shards and holds 1 task/);
  });

  it('checks the stored number of shards again after its own flush, with one shard too', async () => {
    const one = open(1);
    await one.queue([wireTask()]);
    expect(await one.get(['none'])).to.deep.equal([null]);
    await one.flush();
    await open(3).queue([wireTask()]);
    expect((await rejection(one.queue([wireTask()])) as Error).message).to.match(/stored with 3 shards/);
    expect((await rejection(one.get(['none'])) as Error).message).to.match(/stored with 3 shards/);
  });
});

describe('a sharded queue on the Redis Cluster (shards=6 on 3 masters)', function () {
  it('puts two of its shards on each master', async function () {
    const cluster = await sharedCluster();
    if (!cluster) this.skip();
    for (const name of ['spread', 'orders', `app-${Math.random().toString(36).slice(2, 8)}`]) {
      const perMaster = new Map<number, number>();
      for (let s = 0; s < 6; s++) {
        const port = (await cluster.masterOf(`{${shardTag(name, s, 6)}}`)).port;
        perMaster.set(port, (perMaster.get(port) ?? 0) + 1);
      }
      expect([...perMaster.values()], name).to.deep.equal([2, 2, 2]);
    }
  });

  // A node connected on its first command refused a second command sent to it in the same tick
  // ("Connection is closed": the client has no offline queue) and sent it again 200 ms later:
  // one shard's chunk of a queueTasks came 200+ ms late, and so did the etas it anchored
  // (backend contract: "does not start a task before its delay or eta", 1 run in 8).
  it("connects its command connection to every master at once, before any command needs one", async function () {
    this.timeout(60_000);
    const cluster = await sharedCluster();
    if (!cluster) this.skip();
    const store = new ShardedRedisStore(cluster.url({ namespace: `${NAMESPACE}-eager`, shards: '6' }), { name: 'eager' });
    try {
      await store.link.ready();
      const cmd = store.link.cmd;
      if (!('nodes' in cmd)) throw new Error('expected a Cluster client');
      const masters = cmd.nodes('master');
      expect(masters).to.have.length(3);
      // No command is sent here: a master connected lazily would stay waiting.
      const connected = Promise.all(masters.map((node) => (node.status === 'ready' ? undefined : new Promise((resolve) => node.once('ready', resolve)))));
      await Promise.race([connected, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      expect(masters.map((node) => node.status)).to.deep.equal(['ready', 'ready', 'ready']);
    } finally {
      await store.close();
    }
  });
});
