/**
 * Result expiry on redis://: purge deletes ready tasks through the `ended` index (scored by end
 * time in ms) that finish, revoke and recover fill, and leaves no trace of them in Redis. The
 * store-independent behaviour is in the backend contract; this spec looks at the keys as well.
 */
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { TaskBackend } from '../../src/producer/backend.js';
import { createRedisStore, type RedisStore } from '../../src/backends/redis/redis.js';
import { JobRegistry } from '../../src/job/registry.js';
import { FAILURE, QUEUED, REVOKED, STARTED, SUCCESS } from '../../src/model/states.js';
import type { WireTask } from '../../src/model/task.js';
import { dropNamespace, NAMESPACE, rawClient, redisAvailable, specUrl } from './redis-env.js';

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
  const endedKey = (name: string) => `${NAMESPACE}:{${name}}:ended`;
  const allKey = (name: string) => `${NAMESPACE}:{${name}}:all`;

  /** A cut just after now, returned once the clock is past it: what ends next ends after the cut. */
  async function cutNow(): Promise<number> {
    const cut = Date.now() + 1;
    while (Date.now() <= cut) await new Promise((r) => setTimeout(r, 1));
    return cut;
  }

  it('deletes the ready tasks that ended before the cut, hashes and listings, and keeps the rest', async () => {
    const name = appName();
    const p = backend(name);
    const s = store(name);
    // Queued and pulled before any worker runs, so that it stays STARTED under `held`.
    const running = (await p.queueTask('addition', { a: 9 })) as string;
    const [pulled] = await s.pull({ worker: 'held', max: 1, leaseMs: 60_000, waitMs: 0 });
    expect(pulled?.id).to.equal(running);
    expect(await s.start({ ...(pulled as WireTask), status: STARTED, time_started: Date.now() / 1000 }, 'held')).to.equal(true);

    backend(name).start({ id: `${name}-w`, concurrency: 'inline', pid: process.pid });
    const ok = (await p.queueTask('addition', { a: 1, b: 1 })) as string;
    const failed = (await p.queueTask('fail', { message: 'old' })) as string;
    expect((await p.waitForTask(ok, 30))?.status).to.equal(SUCCESS);
    expect((await p.waitForTask(failed, 30))?.status).to.equal(FAILURE);
    const queued = (await p.queueTask('addition', {}, { delay: 60 })) as string;
    const cut = await cutNow();
    const newer = (await p.queueTask('addition', { a: 2, b: 2 })) as string;
    expect((await p.waitForTask(newer, 30))?.status).to.equal(SUCCESS);

    expect(await s.purge(cut, 100)).to.equal(2);
    for (const id of [ok, failed]) {
      expect(await p.getTask(id), id).to.equal(null);
      expect(await raw.exists(taskKey(name, id)), `hash of ${id}`).to.equal(0);
    }
    expect((await p.getTasks()).map((t) => t.id).sort()).to.deep.equal([running, queued, newer].sort());
    expect(await raw.zrange(allKey(name), 0, -1)).to.have.members([running, queued, newer]);
    expect(await raw.zrange(endedKey(name), 0, -1)).to.deep.equal([newer]);
    expect((await p.getTask(running))?.status, 'a running task is never purged').to.equal(STARTED);
    expect((await p.getTask(queued))?.status, 'a waiting task is never purged').to.equal(QUEUED);
    expect((await p.getTask(newer))?.status, 'a task that ended after the cut').to.equal(SUCCESS);
    expect(await s.purge(cut, 100)).to.equal(0);
  });

  it('purges at most limit tasks per call, oldest end first, whatever order they ended in', async () => {
    const name = appName();
    const p = backend(name);
    const s = store(name);
    const ids = (await p.queueTasks([0, 1, 2, 3, 4].map((a) => ({ jobName: 'addition', kwargs: { a } })))) as string[];
    const pulled = await s.pull({ worker: 'w', max: 5, leaseMs: 60_000, waitMs: 0 });
    expect(pulled.map((t) => t.id).sort()).to.deep.equal([...ids].sort());
    // ids[i] ends at base + i seconds; finished in another order than their end times.
    const base = Date.now() / 1000 - 100;
    for (const i of [3, 0, 4, 1, 2]) {
      const wire = pulled.find((t) => t.id === ids[i]) as WireTask;
      expect(await s.finish({ ...wire, status: SUCCESS, result: i, time_ended: base + i }, 'w')).to.equal(true);
    }
    const cut = (base + 10) * 1000;
    const left = async () => (await p.getTasks()).map((t) => t.id).sort();
    expect(await s.purge(cut, 2)).to.equal(2);
    expect(await left()).to.deep.equal([ids[2], ids[3], ids[4]].sort());
    expect(await s.purge(cut, 2)).to.equal(2);
    expect(await left()).to.deep.equal([ids[4]]);
    expect(await s.purge(cut, 2), 'the rest, fewer than limit').to.equal(1);
    expect(await s.purge(cut, 2)).to.equal(0);
    expect(await left()).to.deep.equal([]);
    expect(await raw.exists(endedKey(name), allKey(name))).to.equal(0);
  });

  it('purges a revoked task and a worker-lost FAILURE left by recover', async () => {
    const name = appName();
    const p = backend(name);
    const s = store(name);
    const revoked = (await p.queueTask('addition', {}, { delay: 60 })) as string;
    expect(await p.revokeTask(revoked)).to.equal(true);
    const lost = (await p.queueTask('addition')) as string;
    expect((await s.pull({ worker: 'gone', max: 1, leaseMs: 60_000, waitMs: 0 })).map((t) => t.id)).to.deep.equal([lost]);
    expect(await s.recover({ nowMs: Date.now(), maxRedeliveries: 0, worker: 'gone' })).to.deep.equal({ requeued: [], failed: [lost] });
    expect((await p.getTask(revoked))?.status).to.equal(REVOKED);
    expect((await p.getTask(lost))?.status).to.equal(FAILURE);
    expect(await raw.zrange(endedKey(name), 0, -1)).to.have.members([revoked, lost]);

    expect(await s.purge(await cutNow(), 10)).to.equal(2);
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
    await raw.zrem(endedKey(name), revoked);
    expect(await s.purge(await cutNow(), 10)).to.equal(0);
    expect((await p.getTask(revoked))?.status).to.equal(REVOKED);
  });

  it('flush() removes the ended index with the rest of the app', async () => {
    const name = appName();
    const p = backend(name);
    expect(await p.revokeTask((await p.queueTask('addition', {}, { delay: 60 })) as string)).to.equal(true);
    expect(await raw.exists(endedKey(name))).to.equal(1);
    await p.flush();
    expect(await raw.exists(endedKey(name))).to.equal(0);
  });
});
