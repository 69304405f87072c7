/**
 * Tasks stored by the previous layout of the redis:// store (every wire field in the hash, the id
 * and time_queued included, the whole queue member in `_qm`, the `all` index) are still read,
 * listed, pulled, finished, revoked and handed back by the current scripts; and the current layout
 * stores a new task without the fields it can read elsewhere.
 */
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { QUEUED, REVOKED, STARTED, SUCCESS, type TaskStatus } from '../../src/model/states.js';
import type { RedisStore } from '../../src/backends/redis/redis.js';
import type { WireTask } from '../../src/model/task.js';
import { dropNamespace, NAMESPACE, rawClient, redisAvailable } from './redis-env.js';
import { appName, Stores, wireTask } from './redis-tasks.js';

describe('redis:// task layout', function () {
  const stores = new Stores();
  let raw: Redis;

  before(async function () {
    if (!(await redisAvailable())) this.skip();
    raw = rawClient();
  });
  afterEach(() => stores.closeAll());
  after(async () => {
    raw?.disconnect();
    await dropNamespace().catch(() => undefined);
  });

  /** Writes a QUEUED task the way the previous layout did; returns its id. */
  async function storeOldTask(name: string, id: string, seq: number, queuedMs: number): Promise<void> {
    const p = `${NAMESPACE}:{${name}}:`;
    const member = `${String(seq).padStart(16, '0')}:${id}`;
    const tq = `${queuedMs}.${String(seq % 1000).padStart(3, '0')}`;
    await raw.hset(`${p}t:${id}`, {
      id: JSON.stringify(id), name: '"addition"', kwargs: '{"a":1,"b":2}', retries: '0', meta: '{}', priority: '0', max_retries: '0',
      retry_delay: '0', redeliveries: '0', _qm: member, _score: '0', _tq: tq, time_queued: JSON.stringify(queuedMs / 1000), status: '6',
    });
    await raw.zadd(`${p}queue`, 0, member);
    await raw.zadd(`${p}all`, tq, id);
    await raw.zadd(`${p}s:6`, tq, id);
    await raw.zadd(`${p}n:addition`, tq, id);
  }

  it('reads, lists, pulls, finishes, revokes and hands back tasks stored by the previous layout', async () => {
    const name = appName('layout');
    const store = stores.store(name);
    const now = await store.now();
    await storeOldTask(name, 'old-a', 1, now - 3000);
    await storeOldTask(name, 'old-b', 2, now - 2000);
    await storeOldTask(name, 'old-c', 3, now - 1000);
    const [a] = await store.get(['old-a']);
    expect(a).to.deep.include({ id: 'old-a', name: 'addition', status: QUEUED, kwargs: { a: 1, b: 2 }, time_queued: (now - 3000) / 1000, retries: 0, meta: {} });
    expect((await store.list({}, { limit: 10, cursor: null })).tasks.map((t) => t.id)).to.deep.equal(['old-c', 'old-b', 'old-a']);
    expect(await store.revoke('old-c')).to.equal(true);
    expect((await store.get(['old-c']))[0]?.status).to.equal(REVOKED);

    const pulled = await store.pull({ worker: 'w', max: 2, leaseMs: 60_000, waitMs: 0 });
    expect(pulled.map((d) => d.task.id)).to.deep.equal(['old-a', 'old-b']);
    const [da, db] = pulled as [(typeof pulled)[0], (typeof pulled)[0]];
    const started: WireTask = { ...db.task, status: STARTED, worker: 'w', time_started: Date.now() / 1000 };
    expect(await store.start(started, { worker: 'w', token: db.token })).to.equal(true);
    expect(await store.finish({ ...da.task, status: SUCCESS, result: 3, time_ended: Date.now() / 1000 }, { worker: 'w', token: da.token })).to.equal(true);
    // Handed back: old-b goes back to its place in the queue and is pulled again.
    expect(await store.release('w')).to.deep.equal(['old-b']);
    const again = await store.pull({ worker: 'w2', max: 5, leaseMs: 60_000, waitMs: 0 });
    expect(again.map((d) => d.task.id)).to.deep.equal(['old-b']);
    expect((await store.get(['old-a']))[0]).to.deep.include({ status: SUCCESS, result: 3 });
  });

  it('pulls a task whose fields hold quotes, backslashes, control characters and unicode exactly (one JSON reply string per task)', async () => {
    const name = appName('awkward');
    const store = stores.store(name);
    const now = await store.now();
    // An id with a unit separator, a quote and a backslash, queued by the previous layout (its whole member in _qm).
    const id = 'odd\x1f"\\é😀';
    await storeOldTask(name, id, 1, now - 1000);
    const kwargs = { s: 'a\u0000b\x1fc"d\\e\nf', u: 'héllo 😀 日本', n: [0.1, 2 ** 53 - 1, -0, 1e-300], o: { '': null, '"': true } };
    // Store fields of any text (a delivery `worker:token` of older versions) and progress.
    await raw.hset(`${NAMESPACE}:{${name}}:t:${id}`, 'kwargs', JSON.stringify(kwargs), 'meta', JSON.stringify({ '\x1f': '\x1f' }), '_fin', 'w"\\:7', '_progress', '0.5');
    const [pulled] = await store.pull({ worker: 'w', max: 1, leaseMs: 60_000, waitMs: 0 });
    expect(pulled?.task.id).to.equal(id);
    expect(pulled?.task.kwargs).to.deep.equal(JSON.parse(JSON.stringify(kwargs)));
    expect(pulled?.task.meta).to.deep.equal({ '\x1f': '\x1f', progress: 0.5 });
    expect(pulled?.task.time_queued).to.equal((now - 1000) / 1000);
  });

  it('finds what a worker holds from the fence hash alone (ids sharing a prefix or holding colons kept apart), and drops an older owned set', async () => {
    const name = appName('held');
    const store = stores.store(name);
    const p = `${NAMESPACE}:{${name}}:`;
    const workers = ['w', 'w:1', 'w1', 'x:w'];
    const ids = (await store.queue(workers.map(() => wireTask()))) as string[];
    const held = new Map<string, string>();
    for (const worker of workers) {
      const [d] = await store.pull({ worker, max: 1, leaseMs: 600_000, waitMs: 0 });
      held.set(worker, d!.task.id);
    }
    expect(new Set(held.values()).size).to.equal(ids.length);
    // A set of the previous layout, naming a task the worker no longer holds: not read, dropped.
    await raw.sadd(`${p}owned:w`, held.get('w1')!);
    const keys = async (): Promise<string[]> => (await raw.keys(`${p}owned:*`)).sort();
    expect(await keys()).to.deep.equal([`${p}owned:w`]);
    const owners = async (s: RedisStore, worker: string): Promise<string[]> => (await s.recover({ maxRedeliveries: 1, worker })).returned;
    expect(await owners(store, 'w')).to.deep.equal([held.get('w')]);
    expect(await keys(), 'no per-worker set left').to.deep.equal([]);
    expect(await store.release('w:1')).to.deep.equal([held.get('w:1')]);
    expect(await owners(store, 'x')).to.deep.equal([]);
    expect(await owners(store, 'x:w')).to.deep.equal([held.get('x:w')]);
    // Task ids hold no space: the entry that keeps the hash a hash table does (see below).
    expect((await raw.hkeys(`${p}fence`)).filter((k) => !k.includes(' '))).to.deep.equal([held.get('w1')]);
    expect(await keys(), 'pull, recover and release write no per-worker set').to.deep.equal([]);
  });

  it('stores a new task without its id, time_queued, null fields and fields at their default, and reads them back', async () => {
    const name = appName('lean');
    const store = stores.store(name);
    const task: WireTask = {
      id: 'lean-1', name: 'addition', status: QUEUED, kwargs: {}, result: null, stacktrace: null, time_queued: Date.now() / 1000,
      time_started: null, time_ended: null, expiry: null, lock_id: null, from_task: null, worker: null, retries: 0, meta: {}, priority: 0,
      eta: null, max_retries: 0, retry_delay: 0, timeout: null, redeliveries: 0,
    };
    await store.queue([task]);
    const stored = await raw.hgetall(`${NAMESPACE}:{${name}}:t:lean-1`);
    expect(Object.keys(stored).sort()).to.deep.equal(['_qm', '_tq', 'name', 'status']);
    const [back] = await store.get(['lean-1']);
    // Its listing score: store ms times 1000 plus the sequence, an integer.
    expect(stored._tq).to.match(/^\d{16}$/);
    expect(back).to.deep.equal({ ...task, time_queued: Math.floor(Number(stored._tq) / 1000) / 1000 });
  });

  it('lists tasks scored by the previous layout (ms, sequence in the fraction) after newer ones, each in queue order, through their moves', async () => {
    const name = appName('scores');
    const store = stores.store(name);
    const p = `${NAMESPACE}:{${name}}:`;
    const now = await store.now();
    await storeOldTask(name, 'old-1', 1, now - 2000);
    await storeOldTask(name, 'old-2', 2, now - 2000);
    await raw.set(`${p}seq`, '2');
    // One batch: queued in the same ms (or a few), ordered by their sequence.
    const fresh = (await store.queue(Array.from({ length: 5 }, () => wireTask()))) as string[];
    const listed = async (status?: TaskStatus): Promise<string[]> =>
      (await store.list(status === undefined ? {} : { status: [status] }, { limit: 20, cursor: null })).tasks.map((t) => t.id);
    const newestFirst = [...fresh].reverse();
    expect(await listed()).to.deep.equal([...newestFirst, 'old-2', 'old-1']);
    for (const id of fresh) expect(Number(await raw.zscore(`${p}s:6`, id)), 'an integer score').to.satisfy(Number.isSafeInteger);
    // Pulled, started and finished: each listing keeps the order, old scores with them.
    const pulled = await store.pull({ worker: 'w', max: 7, leaseMs: 60_000, waitMs: 0 });
    expect(pulled.map((d) => d.task.id)).to.deep.equal(['old-1', 'old-2', ...fresh]);
    for (const d of pulled) expect(await store.start({ ...d.task, status: STARTED, worker: 'w', time_started: Date.now() / 1000 }, { worker: 'w', token: d.token })).to.equal(true);
    expect(await listed(STARTED)).to.deep.equal([...newestFirst, 'old-2', 'old-1']);
    for (const d of pulled.slice(0, 4)) {
      expect(await store.finish({ ...d.task, status: SUCCESS, result: 1, time_ended: Date.now() / 1000 }, { worker: 'w', token: d.token })).to.equal(true);
    }
    expect(await listed(SUCCESS)).to.deep.equal([fresh[1], fresh[0], 'old-2', 'old-1']);
    expect(await listed()).to.deep.equal([...newestFirst, 'old-2', 'old-1']);
    // Time queued read back from either form: the store's ms.
    const [o, n] = await store.get(['old-1', fresh[0] as string]);
    expect(o?.time_queued).to.equal((now - 2000) / 1000);
    expect(Math.abs((n?.time_queued as number) * 1000 - now)).to.be.below(60_000);
  });

  it('lists a task under its status only (no listing per job name), finds it by name, and empties an older per-name listing as its tasks are purged', async () => {
    const name = appName('names');
    const store = stores.store(name);
    const p = `${NAMESPACE}:{${name}}:`;
    const [add, echo] = (await store.queue([wireTask(), wireTask({ name: 'echo' })])) as [string, string];
    expect(await raw.keys(`${p}n:*`), 'no per-name listing').to.deep.equal([]);
    // Queued again after a lost reply: stored once, listed once.
    const again = await store.queue([{ ...wireTask(), id: add }]);
    expect(again).to.deep.equal([add]);
    expect(await raw.zcard(`${p}s:6`)).to.equal(2);
    const byName = async (job: string): Promise<string[]> => (await store.list({ name: job }, { limit: 10, cursor: null })).tasks.map((t) => t.id);
    expect(await byName('echo')).to.deep.equal([echo]);
    expect(await byName('addition')).to.deep.equal([add]);
    // A task of the previous layout is in its name's listing: purged with the task, which empties it.
    const now = await store.now();
    await storeOldTask(name, 'old-n', 1, now - 1000);
    expect(await byName('addition')).to.deep.equal([add, 'old-n']);
    const pulled = await store.pull({ worker: 'w', max: 3, leaseMs: 60_000, waitMs: 0 });
    for (const d of pulled) {
      expect(await store.finish({ ...d.task, status: SUCCESS, worker: 'w', time_ended: Date.now() / 1000 }, { worker: 'w', token: d.token })).to.equal(true);
    }
    await store.now().then(async (at) => {
      while ((await store.now()) <= at + 1) await new Promise((r) => setImmediate(r));
    });
    expect(await store.purge(0, 10)).to.equal(3);
    expect(await raw.exists(`${p}n:addition`), 'the older per-name listing is gone with its last task').to.equal(0);
    expect(await byName('addition')).to.deep.equal([]);
  });

  it('keeps the fence hash a hash table with one task in flight (the entry that does it names no task), and leases the worker, not each task', async () => {
    const name = appName('wide');
    const store = stores.store(name);
    const p = `${NAMESPACE}:{${name}}:`;
    const [id] = (await store.queue([wireTask()])) as [string];
    const [d] = await store.pull({ worker: 'w', max: 1, leaseMs: 1, waitMs: 0 });
    expect(d?.task.id).to.equal(id);
    expect(await raw.object('ENCODING', `${p}fence`)).to.equal('hashtable');
    expect(await raw.exists(`${p}inflight`), 'no lease per task').to.equal(0);
    expect(await raw.zrange(`${p}leases`, 0, -1)).to.deep.equal(['w']);
    // Its lease ended: recover finds that task and nothing else; a dead worker's tasks likewise.
    const start = await store.now();
    while ((await store.now()) <= start + 2) await new Promise((r) => setImmediate(r));
    expect(await store.recover({ maxRedeliveries: 1 })).to.deep.equal({ requeued: [], failed: [], returned: [id] });
    const [again] = await store.pull({ worker: 'w2', max: 5, leaseMs: 60_000, waitMs: 0 });
    expect(again?.task.id).to.equal(id);
    expect(await store.recover({ maxRedeliveries: 1, worker: 'w2' })).to.deep.equal({ requeued: [], failed: [], returned: [id] });
    expect(await store.recover({ maxRedeliveries: 1 })).to.deep.equal({ requeued: [], failed: [], returned: [] });
    const [last] = await store.pull({ worker: 'w3', max: 5, leaseMs: 60_000, waitMs: 0 });
    expect(await store.finish({ ...last!.task, status: SUCCESS, worker: 'w3', time_ended: Date.now() / 1000 }, { worker: 'w3', token: last!.token })).to.equal(true);
    expect(await store.release('w3')).to.deep.equal([]);
    expect(await raw.hlen(`${p}fence`), 'only the entry that keeps the hash wide').to.equal(1);
    expect(await raw.exists(`${p}leases`, `${p}held`), 'the workers recovered or released lease nothing').to.equal(0);
  });

  it('remembers a saved finish by its delivery\'s token alone, answers it resent as saved (also as an older version remembered it), and fences off any other delivery', async () => {
    const name = appName('fin');
    const store = stores.store(name);
    const key = `${NAMESPACE}:{${name}}:t:`;
    const [id] = (await store.queue([wireTask()])) as [string];
    const [d] = await store.pull({ worker: 'w', max: 1, leaseMs: 60_000, waitMs: 0 });
    const done: WireTask = { ...d!.task, status: SUCCESS, worker: 'w', result: 2, time_started: Date.now() / 1000, time_ended: Date.now() / 1000 };
    const fence = { worker: 'w', token: d!.token };
    expect(await store.finish(done, fence)).to.equal(true);
    expect(await raw.hget(key + id, '_fin')).to.equal(String(d!.token));
    expect(await store.finish(done, fence), 'resent after its reply was lost').to.equal(true);
    expect(await store.finish(done, { worker: 'w', token: d!.token + 1 }), 'another delivery').to.equal(false);
    expect(await store.finish({ ...done, result: 3 }, fence), 'the same delivery with another outcome').to.equal(false);
    await raw.hset(key + id, '_fin', `w:${d!.token}`);
    expect(await store.finish(done, fence), 'as an older version remembered it').to.equal(true);
    expect(await store.finish(done, { worker: 'x', token: d!.token }), 'another worker').to.equal(false);
    expect((await store.get([id]))[0]).to.deep.include({ status: SUCCESS, result: 2 });
  });
});
