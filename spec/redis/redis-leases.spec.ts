/**
 * Leases per worker on redis:// (lua/_lib.lua: lease_worker): a pull that hands out tasks and a
 * renewal of any delivery the worker still holds lease every task it holds until the store's
 * now + the lease; a worker whose lease ended loses them all to recover, at most 1000 a run;
 * tasks leased one by one by older versions (the `inflight` zset) are still recovered.
 */
import { expect } from 'chai';
import type { RedisStore } from '../../src/backends/redis/redis.js';
import { RETRY, STARTED, SUCCESS } from '../../src/model/states.js';
import { NAMESPACE } from './redis-env.js';
import { redisSuite } from './redis-suite.js';
import { appName, storeClockPast, Stores, wireTask } from './redis-tasks.js';

describe('redis:// leases per worker', function () {
  const suite = redisSuite();
  const stores = new Stores();
  afterEach(() => stores.closeAll());
  const raw = () => suite.raw;

  const prefix = (name: string): string => `${NAMESPACE}:{${name}}:`;
  const leaseOf = async (name: string, worker: string): Promise<number | null> => {
    const score = await raw().zscore(`${prefix(name)}leases`, worker);
    return score === null ? null : Number(score);
  };
  const nothing = { requeued: [], failed: [], returned: [] };

  it('leases the worker at each pull that hands out tasks, on the store clock, and writes nothing per task', async () => {
    const name = appName('lease');
    const store = stores.store(name);
    await store.queue([wireTask(), wireTask(), wireTask()]);
    const before = await store.now();
    expect(await store.pull({ worker: 'w', max: 2, leaseMs: 30_000, waitMs: 0 })).to.have.length(2);
    const first = (await leaseOf(name, 'w')) as number;
    expect(first - before, 'now + the lease').to.be.within(30_000, 35_000);
    expect(await raw().exists(`${prefix(name)}inflight`), 'no lease per task').to.equal(0);
    // A pull that finds nothing leaves the lease alone; one that hands out a task sets it.
    expect(await store.pull({ worker: 'other', max: 5, leaseMs: 30_000, waitMs: 0 })).to.have.length(1);
    expect(await store.pull({ worker: 'w', max: 5, leaseMs: 90_000, waitMs: 0 })).to.deep.equal([]);
    expect(await leaseOf(name, 'w')).to.equal(first);
    await store.queue([wireTask()]);
    expect(await store.pull({ worker: 'w', max: 5, leaseMs: 90_000, waitMs: 0 })).to.have.length(1);
    expect(((await leaseOf(name, 'w')) as number) - first).to.be.at.least(59_000);
  });

  it('keeps every task of a worker while it renews any of them, and recovers them all once its lease ended', async () => {
    const name = appName('lease');
    const store = stores.store(name);
    const ids = (await store.queue([wireTask(), wireTask(), wireTask()])) as string[];
    const pulled = await store.pull({ worker: 'w', max: 3, leaseMs: 1, waitMs: 0 });
    expect(pulled).to.have.length(3);
    const [a, b] = pulled as [(typeof pulled)[0], (typeof pulled)[0]];
    expect(await store.start({ ...a.task, status: STARTED, worker: 'w' }, { worker: 'w', token: a.token })).to.equal(true);
    // One renewal, of one delivery: the worker's lease, every task it holds.
    expect(await store.renew('w', [{ id: a.task.id, token: a.token }], 60_000)).to.deep.equal([]);
    await storeClockPast(store, (await store.now()) + 5);
    expect(await store.recover({ maxRedeliveries: 1 }), 'nothing ended').to.deep.equal(nothing);
    // A renewal of deliveries the worker no longer holds (a stale token) extends nothing.
    const lease = await leaseOf(name, 'w');
    expect(await store.renew('w', [{ id: b.task.id, token: b.token + 1000 }], 600_000)).to.deep.equal([b.task.id]);
    expect(await leaseOf(name, 'w')).to.equal(lease);
    // Renewed for 1 ms: once that passes on the store clock, the worker loses all three.
    expect(await store.renew('w', [{ id: a.task.id, token: a.token }], 1)).to.deep.equal([]);
    await storeClockPast(store, (await store.now()) + 5);
    const recovered = await store.recover({ maxRedeliveries: 1 });
    expect(recovered.requeued, 'the started one, a redelivery counted').to.deep.equal([a.task.id]);
    expect(recovered.returned.sort(), 'the others, nothing counted').to.deep.equal(ids.filter((id) => id !== a.task.id).sort());
    expect(await leaseOf(name, 'w'), 'a worker that holds nothing leases nothing').to.equal(null);
    expect(await store.recover({ maxRedeliveries: 1 }), 'recovered once').to.deep.equal(nothing);
    expect(await store.finish({ ...a.task, status: SUCCESS, worker: 'w' }, { worker: 'w', token: a.token }), 'its old delivery fenced off').to.equal(false);
    expect(await store.numQueued()).to.equal(3);
  });

  it('counts what each worker holds, and drops the ended lease of a worker that holds nothing (finished, retried, handed back)', async () => {
    const name = appName('lease');
    const p = prefix(name);
    const store = stores.store(name);
    await store.queue([wireTask(), wireTask({ retry_delay: 60 }), wireTask(), wireTask()]);
    const [a, b, c] = await store.pull({ worker: 'w', max: 3, leaseMs: 1, waitMs: 0 });
    const [d] = await store.pull({ worker: 'v', max: 1, leaseMs: 600_000, waitMs: 0 });
    expect(await raw().hgetall(`${p}held`)).to.deep.equal({ w: '3', v: '1' });
    const fence = (x: typeof a) => ({ worker: 'w', token: x!.token });
    expect(await store.finish({ ...a!.task, status: SUCCESS, worker: 'w' }, fence(a))).to.equal(true);
    expect(await store.retry({ ...b!.task, status: RETRY, worker: 'w', retries: 1 }, fence(b))).to.equal(true);
    expect(await raw().hget(`${p}held`, 'w')).to.equal('1');
    expect(await store.release('w', [{ id: c!.task.id, token: c!.token }])).to.deep.equal([c!.task.id]);
    expect(await raw().hgetall(`${p}held`), 'w holds nothing').to.deep.equal({ w: '0', v: '1' });
    // Its lease ends: recover takes nothing and drops it.
    await storeClockPast(store, (await store.now()) + 5);
    expect(await store.recover({ maxRedeliveries: 1 })).to.deep.equal(nothing);
    expect(await raw().hgetall(`${p}held`)).to.deep.equal({ v: '1' });
    expect(await raw().zrange(`${p}leases`, 0, -1)).to.deep.equal(['v']);
    expect(await store.finish({ ...d!.task, status: SUCCESS, worker: 'v' }, { worker: 'v', token: d!.token })).to.equal(true);
    expect(await raw().hget(`${p}held`, 'v')).to.equal('0');
    expect(await store.release('v')).to.deep.equal([]);
    expect(await raw().exists(`${p}held`, `${p}leases`), 'a stopped worker leaves nothing').to.equal(0);
  });

  it('recovers only the workers whose lease ended, and a worker of more than 1000 tasks over several runs', async () => {
    const name = appName('lease');
    const store = stores.store(name);
    await store.queue(Array.from({ length: 1100 }, () => wireTask()));
    expect(await store.pull({ worker: 'gone', max: 1050, leaseMs: 1, waitMs: 0 })).to.have.length(1050);
    const live = await store.pull({ worker: 'live', max: 50, leaseMs: 600_000, waitMs: 0 });
    await storeClockPast(store, (await store.now()) + 5);
    const first = await store.recover({ maxRedeliveries: 1 });
    expect(first.returned).to.have.length(1000);
    expect(await leaseOf(name, 'gone'), 'still holds some: its ended lease stays').to.not.equal(null);
    const second = await store.recover({ maxRedeliveries: 1 });
    expect(second.returned).to.have.length(50);
    expect(await leaseOf(name, 'gone')).to.equal(null);
    expect(await store.recover({ maxRedeliveries: 1 })).to.deep.equal(nothing);
    const kept = live.map((d) => ({ id: d.task.id, token: d.token }));
    expect(await store.renew('live', kept, 600_000), 'the live worker kept all its tasks').to.deep.equal([]);
  });

  it('recovers a task an older version leased on its own, but not one a worker leases now', async () => {
    const name = appName('lease');
    const p = prefix(name);
    const store: RedisStore = stores.store(name);
    const [old, taken] = (await store.queue([wireTask(), wireTask()])) as [string, string];
    // `old`: pulled by a worker of an older version (a lease of its own in `inflight`, none for its worker).
    const [d] = await store.pull({ worker: 'old-worker', max: 1, leaseMs: 600_000, waitMs: 0 });
    expect(d?.task.id).to.equal(old);
    await raw().zrem(`${p}leases`, 'old-worker');
    const past = (await store.now()) - 1000;
    await raw().zadd(`${p}inflight`, past, old);
    // `taken`: pulled by a worker of this version, with a stale entry of the older kind left behind.
    const [t] = await store.pull({ worker: 'new-worker', max: 1, leaseMs: 600_000, waitMs: 0 });
    expect(t?.task.id).to.equal(taken);
    await raw().zadd(`${p}inflight`, past, taken);
    expect(await store.recover({ maxRedeliveries: 1 })).to.deep.equal({ requeued: [], failed: [], returned: [old] });
    expect(await raw().exists(`${p}inflight`), 'both entries dropped').to.equal(0);
    expect(await store.renew('new-worker', [{ id: taken, token: t!.token }], 600_000)).to.deep.equal([]);
  });
});
