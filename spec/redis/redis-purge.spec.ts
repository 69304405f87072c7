/**
 * Result expiry on redis://: purge deletes ready tasks through the per-status `ends:<code>` lists
 * (ids in the order tasks ended, each script run's after a marker ` <end ms>` on the store's clock;
 * older versions pushed `<end ms>:<id>`) that finish, revoke,
 * recover and an expired pull fill, and through the `ended:<code>` zsets older versions filled, and
 * leaves no trace of them in Redis. The
 * store-independent behaviour is in the backend contract; this spec looks at the keys as well.
 */
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { TaskBackend } from '../../src/producer/backend.js';
import { createRedisStore, type RedisStore } from '../../src/backends/redis/redis.js';
import { RedisKeys } from '../../src/backends/redis/redis-codec.js';
import { JobRegistry } from '../../src/job/registry.js';
import { FAILURE, QUEUED, REVOKED, STARTED, SUCCESS } from '../../src/model/states.js';
import type { Delivery } from '../../src/store/contract.js';
import { dropNamespace, NAMESPACE, rawClient, redisAvailable, specUrl } from './redis-env.js';
import { listedIds, storeClockPast } from './redis-tasks.js';
import { startWorker } from '../../src/worker/worker-runtime.js';

describe('RedisStore.purge', function () {
  let registry: JobRegistry;
  let raw: Redis;
  const open: TaskBackend[] = [];
  const stores: RedisStore[] = [];

  before(async function () {
    if (!(await redisAvailable())) this.skip();
    registry = await JobRegistry.load(['jobs/*']);
    raw = rawClient();
    await raw.connect();
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close(1)));
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  after(async () => {
    raw?.disconnect();
    await dropNamespace().catch(() => undefined);
  });

  const appName = () => `purge-${Math.random().toString(36).slice(2, 8)}`;

  function backend(name: string): TaskBackend {
    const url = specUrl();
    const b = new TaskBackend(createRedisStore(url, name), { name, url, registry, pollTimeout: 1 });
    open.push(b);
    return b;
  }

  /** A bare store, for driving pull/start/finish/recover as a worker would, step by step. */
  function store(name: string): RedisStore {
    const s = createRedisStore(specUrl(), name);
    stores.push(s);
    return s;
  }

  const taskKey = (name: string, id: string) => `${NAMESPACE}:{${name}}:t:${id}`;
  const endedKey = (name: string, status: number) => `${NAMESPACE}:{${name}}:ends:${status}`;
  /** The zset an older version kept per ready status, scored by end time. */
  const oldEndedKey = (name: string, status: number) => `${NAMESPACE}:{${name}}:ended:${status}`;
  /**
   * The ids in the ended lists, each list checked to be groups of ids each after a marker
   * ` <end ms>` (an older version's `<end ms>:<id>` entries, which specs push, are read too).
   */
  const ended = async (name: string) =>
    (await Promise.all([SUCCESS, FAILURE, REVOKED].map((st) => raw.lrange(endedKey(name, st), 0, -1)))).flatMap((entries) => {
      let marked = false;
      return entries.flatMap((entry) => {
        if (entry.startsWith(' ')) {
          expect(entry).to.match(/^ \d{13}$/);
          marked = true;
          return [];
        }
        if (/^\d{13}:/.test(entry)) return [entry.slice(14)];
        expect(marked, `${entry} after a marker`).to.equal(true);
        expect(entry).to.match(/^[0-9A-Za-z]{16}$/);
        return [entry];
      });
    });
  /** Every id in the per-status listings (what the listing of every task merges). */
  const listed = (name: string) => listedIds(raw, new RedisKeys(NAMESPACE, name));

  /**
   * A cut just after the store's now, returned once the store clock is 200 ms past it: what ends
   * next ends well after the cut (purge takes an age, measured when it runs).
   */
  async function cutNow(s: RedisStore): Promise<number> {
    const cut = (await s.now()) + 1;
    await storeClockPast(s, cut + 200);
    return cut;
  }

  /** Purges what ended before `cut` (store ms): the age of the cut, when the purge runs. */
  const purgeBefore = async (s: RedisStore, cut: number, limit: number) => s.purge((await s.now()) - cut, limit);

  it('deletes the ready tasks that ended before the cut, hashes and listings, and keeps the rest', async () => {
    const name = appName();
    const p = backend(name);
    const s = store(name);
    // Queued and pulled before any worker runs, so that it stays STARTED under `held`.
    const running = (await p.queueTask('addition', { a: 9 })) as string;
    const [pulled] = await s.pull({ worker: 'held', max: 1, leaseMs: 60_000, waitMs: 0 });
    expect(pulled?.task.id).to.equal(running);
    expect(await s.start({ ...pulled!.task, status: STARTED, time_started: Date.now() / 1000 }, { worker: 'held', token: pulled!.token })).to.equal(true);

    startWorker(backend(name), { id: `${name}-w`, concurrency: 'inline', pid: process.pid });
    const ok = (await p.queueTask('addition', { a: 1, b: 1 })) as string;
    const failed = (await p.queueTask('fail', { message: 'old' })) as string;
    expect((await p.waitForTask(ok, 30))?.status).to.equal(SUCCESS);
    expect((await p.waitForTask(failed, 30))?.status).to.equal(FAILURE);
    const queued = (await p.queueTask('addition', {}, { delay: 60 })) as string;
    const cut = await cutNow(s);
    const newer = (await p.queueTask('addition', { a: 2, b: 2 })) as string;
    expect((await p.waitForTask(newer, 30))?.status).to.equal(SUCCESS);

    expect(await purgeBefore(s, cut, 100)).to.equal(2);
    for (const id of [ok, failed]) {
      expect(await p.getTask(id), id).to.equal(null);
      expect(await raw.exists(taskKey(name, id)), `hash of ${id}`).to.equal(0);
    }
    expect((await p.getTasks()).map((t) => t.id).sort()).to.deep.equal([running, queued, newer].sort());
    expect(await listed(name)).to.have.members([running, queued, newer]);
    expect(await ended(name)).to.deep.equal([newer]);
    expect((await p.getTask(running))?.status, 'a running task is never purged').to.equal(STARTED);
    expect((await p.getTask(queued))?.status, 'a waiting task is never purged').to.equal(QUEUED);
    expect((await p.getTask(newer))?.status, 'a task that ended after the cut').to.equal(SUCCESS);
    expect(await purgeBefore(s, cut, 100)).to.equal(0);
  });

  it('purges at most limit tasks per call, oldest end first (the store clock at finish), whatever order they were queued in', async () => {
    const name = appName();
    const p = backend(name);
    const s = store(name);
    const ids = (await p.queueTasks([0, 1, 2, 3, 4].map((a) => ({ jobName: 'addition', kwargs: { a } })))) as string[];
    const pulled = await s.pull({ worker: 'w', max: 5, leaseMs: 60_000, waitMs: 0 });
    expect(pulled.map((d) => d.task.id).sort()).to.deep.equal([...ids].sort());
    // Finished in another order than queued, each in a later ms of the store clock; the time_ended
    // a worker writes (its own clock) does not order the purge.
    const order = [3, 0, 4, 1, 2];
    for (const [k, i] of order.entries()) {
      const d = pulled.find((x) => x.task.id === ids[i]) as Delivery;
      const before = await s.now();
      expect(await s.finish({ ...d.task, status: SUCCESS, result: i, time_ended: 1000 - k }, { worker: 'w', token: d.token })).to.equal(true);
      await storeClockPast(s, before + 1);
    }
    const cut = await cutNow(s);
    const left = async () => (await p.getTasks()).map((t) => t.id).sort();
    expect(await purgeBefore(s, cut, 2)).to.equal(2);
    expect(await left()).to.deep.equal([ids[4], ids[1], ids[2]].sort());
    expect(await purgeBefore(s, cut, 2)).to.equal(2);
    expect(await left()).to.deep.equal([ids[2]]);
    expect(await purgeBefore(s, cut, 2), 'the rest, fewer than limit').to.equal(1);
    expect(await purgeBefore(s, cut, 2)).to.equal(0);
    expect(await left()).to.deep.equal([]);
    expect(await raw.exists(endedKey(name, SUCCESS), `${NAMESPACE}:{${name}}:s:${SUCCESS}`, `${NAMESPACE}:{${name}}:rx:${SUCCESS}`)).to.equal(0);
    expect(await raw.keys(`${NAMESPACE}:{${name}}:r:*`), 'no bucket left').to.deep.equal([]);
  });

  it('purges a revoked task and a worker-lost FAILURE left by recover', async () => {
    const name = appName();
    const p = backend(name);
    const s = store(name);
    const revoked = (await p.queueTask('addition', {}, { delay: 60 })) as string;
    expect(await p.revokeTask(revoked)).to.equal(true);
    const lost = (await p.queueTask('addition')) as string;
    const [d] = await s.pull({ worker: 'gone', max: 1, leaseMs: 60_000, waitMs: 0 });
    expect(d?.task.id).to.equal(lost);
    // Only a task that had started is charged with its worker's loss.
    expect(await s.start({ ...d!.task, status: STARTED, worker: 'gone' }, { worker: 'gone', token: d!.token })).to.equal(true);
    expect(await s.recover({ maxRedeliveries: 0, worker: 'gone' })).to.deep.equal({ requeued: [], failed: [lost], returned: [] });
    expect((await p.getTask(revoked))?.status).to.equal(REVOKED);
    expect((await p.getTask(lost))?.status).to.equal(FAILURE);
    expect(await ended(name)).to.have.members([revoked, lost]);

    expect(await purgeBefore(s, await cutNow(s), 10)).to.equal(2);
    for (const id of [revoked, lost]) {
      expect(await p.getTask(id), id).to.equal(null);
      expect(await raw.exists(taskKey(name, id)), `hash of ${id}`).to.equal(0);
    }
    expect(await p.getTasks()).to.deep.equal([]);
  });

  it('keeps a ready task the ended index does not know (one that ended before the index existed)', async () => {
    const name = appName();
    const p = backend(name);
    const s = store(name);
    const revoked = (await p.queueTask('addition', {}, { delay: 60 })) as string;
    expect(await p.revokeTask(revoked)).to.equal(true);
    // What a task that became ready under an older version looks like.
    await raw.del(endedKey(name, REVOKED));
    expect(await purgeBefore(s, await cutNow(s), 10)).to.equal(0);
    expect((await p.getTask(revoked))?.status).to.equal(REVOKED);
  });

  /** `n` REVOKED tasks (each in the REVOKED ended list), their ids in the order they ended. */
  async function revokedTasks(p: TaskBackend, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let k = 0; k < n; k++) {
      const id = (await p.queueTask('addition', { a: k }, { delay: 60 })) as string;
      expect(await p.revokeTask(id)).to.equal(true);
      ids.push(id);
    }
    return ids;
  }

  it('purges the tasks an older version indexed in its ended zsets, oldest end first with the listed ones', async () => {
    const name = appName();
    const p = backend(name);
    const s = store(name);
    const [old, listed] = await revokedTasks(p, 2);
    const at = (await s.now()) - 10_000;
    // `old` ended under an older version: in the zset, not in the list.
    await raw.del(endedKey(name, REVOKED));
    await raw.rpush(endedKey(name, REVOKED), `${at}:${listed}`);
    await raw.zadd(oldEndedKey(name, REVOKED), at - 1, old as string);
    expect(await s.purge(1000, 1)).to.equal(1);
    expect(await p.getTask(old as string)).to.equal(null);
    expect(await raw.exists(oldEndedKey(name, REVOKED)), 'the zset emptied').to.equal(0);
    expect(await s.purge(1000, 10)).to.equal(1);
    expect(await p.getTask(listed as string)).to.equal(null);
    expect(await raw.exists(endedKey(name, REVOKED), taskKey(name, old as string), taskKey(name, listed as string))).to.equal(0);
  });

  it('takes a list from its head even where the store clock stepped back, leaving no entry behind', async () => {
    const name = appName();
    const p = backend(name);
    const s = store(name);
    const [a, b, c] = (await revokedTasks(p, 3)) as [string, string, string];
    const at = (await s.now()) - 10_000;
    // b and c ended after a by the list's order, but the store clock read earlier times for them.
    await raw.del(endedKey(name, REVOKED));
    await raw.rpush(endedKey(name, REVOKED), `${at}:${a}`, `${at - 10}:${b}`, `${at - 5}:${c}`);
    expect(await s.purge(1000, 2)).to.equal(2);
    expect(await p.getTask(a), 'the head goes first').to.equal(null);
    expect(await p.getTask(b)).to.equal(null);
    expect(await ended(name)).to.deep.equal([c]);
    expect(await s.purge(1000, 2)).to.equal(1);
    expect(await p.getTasks()).to.deep.equal([]);
    expect(await raw.exists(endedKey(name, REVOKED))).to.equal(0);
  });

  it('stops at the first entry younger than the age, and takes no limit as every entry', async () => {
    const name = appName();
    const p = backend(name);
    const s = store(name);
    const ids = await revokedTasks(p, 3);
    const cut = await cutNow(s);
    const [young] = await revokedTasks(p, 1);
    expect(await purgeBefore(s, cut, Infinity)).to.equal(3);
    expect((await p.getTasks()).map((t) => t.id)).to.deep.equal([young]);
    for (const id of ids) expect(await raw.exists(taskKey(name, id)), id).to.equal(0);
    expect(await ended(name)).to.deep.equal([young]);
  });

  it('pushes one marker per finish batch and the bare ids after it; a purge that stops inside a group gives the rest their marker back', async () => {
    const name = appName();
    const p = backend(name);
    const s = store(name);
    const ids = (await p.queueTasks(Array.from({ length: 10 }, (_, a) => ({ jobName: 'addition', kwargs: { a } })))) as string[];
    const pulled = await s.pull({ worker: 'w', max: 10, leaseMs: 60_000, waitMs: 0 });
    const saved = await Promise.all(pulled.map((d) => s.finish({ ...d.task, status: SUCCESS, result: 1, time_ended: Date.now() / 1000 }, { worker: 'w', token: d.token })));
    expect(saved.every(Boolean)).to.equal(true);
    const entries = await raw.lrange(endedKey(name, SUCCESS), 0, -1);
    expect(entries).to.have.length(11);
    expect(entries[0]).to.match(/^ \d{13}$/);
    expect(entries.slice(1)).to.have.members(ids);
    const cut = await cutNow(s);
    expect(await purgeBefore(s, cut, 4)).to.equal(4);
    const left = await raw.lrange(endedKey(name, SUCCESS), 0, -1);
    expect(left, 'the rest of the group after its marker').to.deep.equal([entries[0], ...entries.slice(5)]);
    expect((await p.getTasks()).map((t) => t.id).sort()).to.deep.equal(entries.slice(5).sort());
    expect(await purgeBefore(s, cut, 100)).to.equal(6);
    expect(await raw.exists(endedKey(name, SUCCESS))).to.equal(0);
  });

  it("reads an older version's `<end ms>:<id>` entries at the head of a list, then the groups after markers", async () => {
    const name = appName();
    const p = backend(name);
    const s = store(name);
    const [a, b, c, d] = (await revokedTasks(p, 4)) as [string, string, string, string];
    const at = (await s.now()) - 10_000;
    await raw.del(endedKey(name, REVOKED));
    await raw.rpush(endedKey(name, REVOKED), `${at}:${a}`, `${at + 1}:${b}`, ` ${at + 2}`, c, ` ${at + 3}`, d);
    expect(await s.purge(1000, 3)).to.equal(3);
    expect(await raw.lrange(endedKey(name, REVOKED), 0, -1)).to.deep.equal([` ${at + 3}`, d]);
    expect((await p.getTasks()).map((t) => t.id)).to.deep.equal([d]);
    expect(await s.purge(1000, 3)).to.equal(1);
    expect(await raw.exists(endedKey(name, REVOKED))).to.equal(0);
  });

  it('flush() removes the ended index with the rest of the app', async () => {
    const name = appName();
    const p = backend(name);
    expect(await p.revokeTask((await p.queueTask('addition', {}, { delay: 60 })) as string)).to.equal(true);
    expect(await raw.exists(endedKey(name, REVOKED))).to.equal(1);
    await p.flush();
    expect(await raw.exists(endedKey(name, REVOKED))).to.equal(0);
  });
});
