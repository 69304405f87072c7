/**
 * Fenced deliveries on redis://, at the store level: every pull mints a larger token, a write with
 * a stale token changes nothing, recover charges only tasks that had started, release charges
 * nothing, and the store (not the caller) decides expiry and retry times.
 */
import { expect } from 'chai';
import { EXPIRED_MESSAGE, workerLostMessage } from '../../src/store/contract.js';
import { FAILURE, QUEUED, RETRY, REVOKED, STARTED, SUCCESS } from '../../src/model/states.js';
import type { WireTask } from '../../src/model/task.js';
import type { RedisStore } from '../../src/backends/redis/redis.js';
import { dropNamespace, redisAvailable } from './redis-env.js';
import { appName, storeClockPast, Stores, wireTask } from './redis-tasks.js';

describe('redis:// fenced deliveries', function () {
  const stores = new Stores();

  before(async function () {
    if (!(await redisAvailable())) this.skip();
  });
  afterEach(() => stores.closeAll());
  after(() => dropNamespace().catch(() => undefined));

  const pullOne = async (store: RedisStore, worker: string, leaseMs = 60_000) => {
    const [delivery] = await store.pull({ worker, max: 1, leaseMs, waitMs: 0 });
    expect(delivery, `a task for ${worker}`).to.not.equal(undefined);
    return delivery!;
  };
  const started = (task: WireTask, worker: string): WireTask => ({ ...task, status: STARTED, worker, time_started: Date.now() / 1000 });

  it('keeps the live run\'s result and refuses every write of the stale one, whose lease was recovered while it ran', async () => {
    const store = stores.store(appName('fence'));
    const [id] = (await store.queue([wireTask()])) as [string];
    // First run: pulled with a short lease that runs out (store clock) while it "runs".
    const first = await pullOne(store, 'w', 50);
    expect(await store.start(started(first.task, 'w'), { worker: 'w', token: first.token })).to.equal(true);
    await storeClockPast(store, (await store.now()) + 60);
    expect(await store.recover({ maxRedeliveries: 5 })).to.deep.equal({ requeued: [id], failed: [], returned: [] });
    // The same worker pulls it again: a second, live run with a larger token.
    const second = await pullOne(store, 'w');
    expect(second.task.id).to.equal(id);
    expect(second.token).to.be.greaterThan(first.token);
    expect(await store.start(started(second.task, 'w'), { worker: 'w', token: second.token })).to.equal(true);

    const stale = { worker: 'w', token: first.token };
    expect(await store.finish({ ...first.task, status: SUCCESS, result: 'stale' }, stale), 'stale finish').to.equal(false);
    expect(await store.retry({ ...first.task, status: RETRY, retries: 1, retry_delay: 0 }, stale), 'stale retry').to.equal(false);
    expect(await store.start(started(first.task, 'w'), stale), 'stale start').to.equal(false);
    expect(await store.progress(id, 0.5, stale), 'stale progress').to.equal(false);
    expect(await store.renew('w', [{ id, token: first.token }], 60_000), 'stale renew').to.deep.equal([id]);
    let now = await store.get([id]);
    expect(now[0]?.status).to.equal(STARTED);
    expect(now[0]?.result).to.equal(null);

    expect(await store.renew('w', [{ id, token: second.token }], 60_000)).to.deep.equal([]);
    expect(await store.progress(id, 0.75, { worker: 'w', token: second.token })).to.equal(true);
    expect(await store.finish({ ...second.task, status: SUCCESS, result: 'live', time_ended: Date.now() / 1000 }, { worker: 'w', token: second.token })).to.equal(true);
    now = await store.get([id]);
    expect(now[0]?.status).to.equal(SUCCESS);
    expect(now[0]?.result).to.equal('live');
    expect(now[0]?.redeliveries).to.equal(1);
    expect(now[0]?.retries, 'a lost lease is not a job failure').to.equal(0);
    // Once finished, even the live token is fenced off.
    expect(await store.finish({ ...second.task, status: FAILURE, result: 'again' }, { worker: 'x', token: second.token })).to.equal(false);
    expect((await store.get([id]))[0]?.result).to.equal('live');
  });

  it('refuses malformed pulls, fences and leases with a clear one-line error', async () => {
    const store = stores.store(appName('bad'));
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => store.pull({ worker: '', max: 1, leaseMs: 1000, waitMs: 0 }), /needs the id of its worker/],
      [() => store.pull({ worker: 'w', max: -1, leaseMs: 1000, waitMs: 0 }), /max must be an integer/],
      [() => store.pull({ worker: 'w', max: 1, leaseMs: Number.NaN, waitMs: 0 }), /leaseMs must be a duration/],
      [() => store.pull({ worker: 'w', max: 1, leaseMs: 1000, waitMs: -5 }), /waitMs must be a duration/],
      [() => store.finish(wireTask(), { worker: 'w', token: 0 }), /positive integer token/],
      [() => store.renew('w', [{ id: 'x', token: 1.5 }], 1000), /positive integer token/],
      [() => store.recover({ maxRedeliveries: -1 }), /maxRedeliveries must be an integer/],
    ];
    for (const [call, message] of cases) {
      let error: unknown;
      await call().catch((e: unknown) => (error = e));
      expect(String(error), String(message)).to.match(message);
      expect(String(error).split('\n')).to.have.length(1);
    }
  });

  it('refuses a write naming another worker with the right token', async () => {
    const store = stores.store(appName('fence'));
    await store.queue([wireTask()]);
    const d = await pullOne(store, 'owner');
    expect(await store.start(started(d.task, 'thief'), { worker: 'thief', token: d.token })).to.equal(false);
    expect(await store.finish({ ...d.task, status: SUCCESS }, { worker: 'thief', token: d.token })).to.equal(false);
    expect((await store.get([d.task.id]))[0]?.status).to.equal(QUEUED);
  });

  it('answers true again when a finish is sent twice (a reply lost with the connection)', async () => {
    const store = stores.store(appName('fence'));
    await store.queue([wireTask()]);
    const d = await pullOne(store, 'w');
    const fence = { worker: 'w', token: d.token };
    const done: WireTask = { ...d.task, status: SUCCESS, result: 3 };
    expect(await store.finish(done, fence)).to.equal(true);
    expect(await store.finish(done, fence)).to.equal(true);
    expect((await store.get([d.task.id]))[0]?.result).to.equal(3);
  });

  it('lists a task under its one status whatever path it took: retried then started, finished unstarted', async () => {
    const store = stores.store(appName('paths'));
    const [a, b] = (await store.queue([wireTask({ max_retries: 1 }), wireTask()])) as [string, string];
    const listed = async () => {
      const out: Record<string, string[]> = {};
      for (const s of [SUCCESS, FAILURE, RETRY, STARTED, QUEUED] as const) out[s] = (await store.list({ status: [s] }, { limit: 10, cursor: null })).tasks.map((t) => t.id).sort();
      return out;
    };
    const [da, db] = await store.pull({ worker: 'w', max: 2, leaseMs: 60_000, waitMs: 0 });
    expect([da?.task.id, db?.task.id]).to.deep.equal([a, b]);
    // b never starts (an unknown job, say): FAILURE straight from QUEUED.
    expect(await store.finish({ ...db!.task, status: FAILURE, result: 'unknown' }, { worker: 'w', token: db!.token })).to.equal(true);
    expect(await store.start(started(da!.task, 'w'), { worker: 'w', token: da!.token })).to.equal(true);
    expect(await store.retry({ ...started(da!.task, 'w'), status: RETRY, retries: 1 }, { worker: 'w', token: da!.token })).to.equal(true);
    expect(await listed()).to.deep.equal({ [SUCCESS]: [], [FAILURE]: [b], [RETRY]: [a], [STARTED]: [], [QUEUED]: [] });
    const again = await pullOne(store, 'w');
    expect(await store.start(started(again.task, 'w'), { worker: 'w', token: again.token })).to.equal(true);
    expect(await listed()).to.deep.equal({ [SUCCESS]: [], [FAILURE]: [b], [RETRY]: [], [STARTED]: [a], [QUEUED]: [] });
    expect(await store.finish({ ...started(again.task, 'w'), status: SUCCESS, result: 1 }, { worker: 'w', token: again.token })).to.equal(true);
    expect(await listed()).to.deep.equal({ [SUCCESS]: [a], [FAILURE]: [b], [RETRY]: [], [STARTED]: [], [QUEUED]: [] });
  });

  it('checks each write of one batch against what the writes before it in the batch did', async () => {
    const store = stores.store(appName('fence'));
    await store.queue([wireTask({ lock_id: 'L' })]);
    const d = await pullOne(store, 'w');
    const fence = { worker: 'w', token: d.token };
    const done: WireTask = { ...d.task, status: SUCCESS, result: 3 };
    // One turn: one finish.lua run. The second write of the same delivery meets a finished one.
    const answers = await Promise.all([
      store.finish(done, fence),
      store.finish({ ...done, result: 4 }, fence),
      store.finish(done, fence),
      store.finish(done, { worker: 'w', token: d.token + 1 }),
    ]);
    expect(answers).to.deep.equal([true, false, true, false]);
    const [t] = await store.get([d.task.id]);
    expect([t?.status, t?.result]).to.deep.equal([SUCCESS, 3]);
    expect((await store.list({ status: [SUCCESS] }, { limit: 10, cursor: null })).tasks.map((x) => x.id)).to.deep.equal([d.task.id]);
    expect((await store.list({ status: [QUEUED, STARTED] }, { limit: 10, cursor: null })).tasks).to.deep.equal([]);
    expect(await store.queue([wireTask({ lock_id: 'L' })]), 'lock released').to.not.include(null);
    expect(await store.renew('w', [{ id: d.task.id, token: d.token }], 60_000), 'out of flight').to.deep.equal([d.task.id]);
  });

  it('recovers a dead worker: started tasks requeued with a redelivery (retries untouched), unstarted ones returned uncharged', async () => {
    const store = stores.store(appName('recover'));
    const ids = (await store.queue([wireTask(), wireTask(), wireTask()])) as string[];
    const pulled = await store.pull({ worker: 'dead', max: 3, leaseMs: 600_000, waitMs: 0 });
    expect(pulled.map((d) => d.task.id)).to.deep.equal(ids);
    const [ran, ...idle] = pulled as [typeof pulled[0], ...typeof pulled];
    expect(await store.start(started({ ...ran.task, retries: 2 }, 'dead'), { worker: 'dead', token: ran.token })).to.equal(true);
    const result = await store.recover({ maxRedeliveries: 1, worker: 'dead' });
    expect(result.requeued).to.deep.equal([ran.task.id]);
    expect(result.failed).to.deep.equal([]);
    expect(result.returned.sort()).to.deep.equal(idle.map((d) => d.task.id).sort());
    const [a, b, c] = await store.get(ids);
    expect([a?.status, a?.redeliveries, a?.retries, a?.worker, a?.time_started]).to.deep.equal([QUEUED, 1, 2, null, null]);
    for (const t of [b, c]) expect([t?.status, t?.redeliveries, t?.retries]).to.deep.equal([QUEUED, 0, 0]);
    expect(await store.numQueued()).to.equal(3);
    // The unstarted ones go back to their place: first in line again, in their order.
    const again = await store.pull({ worker: 'next', max: 3, leaseMs: 600_000, waitMs: 0 });
    expect(again.map((d) => d.task.id)).to.deep.equal([ids[1], ids[2], ids[0]]);
    // Past the bound a started task ends FAILURE (worker lost), lock and all.
    const last = again[2]!;
    expect(await store.start(started(last.task, 'next'), { worker: 'next', token: last.token })).to.equal(true);
    const second = await store.recover({ maxRedeliveries: 1, worker: 'next' });
    expect(second.failed).to.deep.equal([ids[0]]);
    const [lost] = await store.get([ids[0]!]);
    expect([lost?.status, lost?.result]).to.deep.equal([FAILURE, workerLostMessage(1)]);
    expect(await store.recover({ maxRedeliveries: 1, worker: 'nobody' })).to.deep.equal({ requeued: [], failed: [], returned: [] });
  });

  it('recovers expired leases at most 1000 a run, the rest on the next run', async () => {
    const store = stores.store(appName('recover'));
    await store.queue(Array.from({ length: 1200 }, () => wireTask()));
    const pulled = await store.pull({ worker: 'gone', max: 1200, leaseMs: 1, waitMs: 0 });
    expect(pulled).to.have.length(1200);
    await storeClockPast(store, (await store.now()) + 5);
    const first = await store.recover({ maxRedeliveries: 1 });
    expect([first.requeued.length, first.failed.length, first.returned.length]).to.deep.equal([0, 0, 1000]);
    const second = await store.recover({ maxRedeliveries: 1 });
    expect(second.returned).to.have.length(200);
    expect(await store.numQueued()).to.equal(1200);
    expect(await store.recover({ maxRedeliveries: 1, worker: 'gone' }), 'nothing left owned').to.deep.equal({ requeued: [], failed: [], returned: [] });
  });

  it('releases a stopping worker\'s tasks with nothing counted, and fences off its old deliveries', async () => {
    const store = stores.store(appName('release'));
    const ids = (await store.queue([wireTask(), wireTask(), wireTask()])) as string[];
    const pulled = await store.pull({ worker: 'stopping', max: 3, leaseMs: 600_000, waitMs: 0 });
    const [a, b, c] = pulled as [typeof pulled[0], typeof pulled[0], typeof pulled[0]];
    expect(await store.start(started(a.task, 'stopping'), { worker: 'stopping', token: a.token })).to.equal(true);
    expect(await store.release('stopping', [{ id: c.task.id, token: c.token }, { id: b.task.id, token: b.token + 7 }])).to.deep.equal([c.task.id]);
    expect((await store.release('stopping')).sort()).to.deep.equal([a.task.id, b.task.id].sort());
    for (const t of await store.get(ids)) {
      expect([t?.status, t?.retries, t?.redeliveries, t?.worker, t?.time_started]).to.deep.equal([QUEUED, 0, 0, null, null]);
    }
    expect(await store.finish({ ...a.task, status: SUCCESS }, { worker: 'stopping', token: a.token })).to.equal(false);
    expect(await store.numQueued()).to.equal(3);
    expect(await store.release('stopping')).to.deep.equal([]);
  });

  for (const how of ['release', 'interrupt'] as const) {
    it(`ends a parked pull at once on ${how}, also from another process's store, and it takes nothing for a moment`, async () => {
      const worker = stores.store(appName('release'));
      const other = stores.store(worker.name);
      await other.now();
      const started = Date.now();
      const parked = worker.pull({ worker: 'idle', max: 1, leaseMs: 60_000, waitMs: 30_000 });
      // Parked once the blocking connection waits on BLPOP.
      while (!String(await other.link.cmd.call('CLIENT', 'LIST')).includes('cmd=blpop')) await new Promise((r) => setTimeout(r, 10));
      if (how === 'release') await other.release('idle');
      else await other.interrupt('idle');
      expect(await parked).to.deep.equal([]);
      expect(Date.now() - started).to.be.below(10_000);
      await other.queue([wireTask()]);
      expect(await worker.pull({ worker: 'idle', max: 1, leaseMs: 60_000, waitMs: 0 }), 'a stopping worker takes nothing').to.deep.equal([]);
      expect(await worker.pull({ worker: 'next', max: 1, leaseMs: 60_000, waitMs: 0 })).to.have.length(1);
    });
  }

  it('never hands out a task whose expiry passed on the store clock: REVOKED, lock released, task_done', async () => {
    const store = stores.store(appName('expiry'));
    const events: string[] = [];
    await store.subscribe((event, id) => events.push(`${event}:${id}`));
    const now = Date.now() / 1000;
    const [id] = (await store.queue([wireTask({ lock_id: 'L', time_queued: now, expiry: now + 0.02 })])) as [string];
    const [stored] = await store.get([id]);
    await storeClockPast(store, Math.round((stored?.expiry as number) * 1000) + 1);
    expect(await store.pull({ worker: 'w', max: 5, leaseMs: 60_000, waitMs: 0 })).to.deep.equal([]);
    const [t] = await store.get([id]);
    expect([t?.status, t?.result, t?.time_started]).to.deep.equal([REVOKED, EXPIRED_MESSAGE, null]);
    expect(t?.time_ended).to.be.a('number');
    expect(await store.queue([wireTask({ lock_id: 'L' })]), 'lock released').to.have.length(1).and.not.include(null);
    while (!events.includes(`task_done:${id}`)) await new Promise((r) => setTimeout(r, 10));
    expect((await store.list({ status: [REVOKED] }, { limit: 10, cursor: null })).tasks.map((x) => x.id)).to.deep.equal([id]);
  });

  it('sets a retried task\'s eta to the store\'s now plus its retry delay', async () => {
    const store = stores.store(appName('retry'));
    await store.queue([wireTask({ retry_delay: 60, max_retries: 1 })]);
    const d = await pullOne(store, 'w');
    const before = await store.now();
    // The worker's own eta is ignored: the store decides.
    const retried: WireTask = { ...d.task, status: RETRY, retries: 1, eta: 1 };
    expect(await store.retry(retried, { worker: 'w', token: d.token })).to.equal(true);
    const [t] = await store.get([d.task.id]);
    expect(t?.status).to.equal(RETRY);
    expect((t?.eta as number) * 1000 - before).to.be.within(59_000, 62_000);
    expect(await store.numQueued()).to.equal(1);
    expect(await store.pull({ worker: 'w', max: 1, leaseMs: 60_000, waitMs: 0 }), 'not due yet').to.deep.equal([]);
    expect(await store.retry(retried, { worker: 'w', token: d.token }), 'a resent retry is answered as saved').to.equal(true);
    expect(await store.numQueued()).to.equal(1);
  });

  it('broadcasts a finish sent again after its reply was lost once (alone, and carrying its start)', async () => {
    const store = stores.store(appName('refinish'));
    const events: string[] = [];
    const unsubscribe = await store.subscribe((event, id) => events.push(`${event}:${id}`));
    const ids = (await store.queue([wireTask(), wireTask()])) as string[];
    const [alone, carried] = [await pullOne(store, 'w'), await pullOne(store, 'w')];
    const fence = (d: typeof alone) => ({ worker: 'w', token: d.token });
    const done = (task: WireTask): WireTask => ({ ...task, status: SUCCESS, result: 3, time_ended: Date.now() / 1000 });
    expect(await store.start(started(alone.task, 'w'), fence(alone))).to.equal(true);
    const finished = done(started(alone.task, 'w'));
    expect(await store.finish(finished, fence(alone))).to.equal(true);
    expect(await store.finish(finished, fence(alone)), 'sent again').to.equal(true);
    // A start and finish written in one turn go as one script run, which is what is sent again.
    const both = started(carried.task, 'w');
    const ended = done(both);
    expect(await Promise.all([store.start(both, fence(carried)), store.finish(ended, fence(carried))])).to.deep.equal([true, true]);
    expect(await store.finish(ended, fence(carried)), 'sent again').to.equal(true);
    // One connection delivers the broadcasts in order: once this task_queued is seen, all are.
    const [last] = (await store.queue([wireTask()])) as [string];
    while (!events.includes(`task_queued:${last}`)) await new Promise((r) => setTimeout(r, 10));
    await unsubscribe();
    for (const id of ids) expect(events.filter((e) => e.endsWith(`:${id}`)), id).to.deep.equal([`task_queued:${id}`, `task_started:${id}`, `task_done:${id}`]);
  });

  it('saves every field of a start sent again after its first send failed (nothing of it is taken as stored)', async () => {
    const store = stores.store(appName('resend'));
    const [id] = (await store.queue([wireTask()])) as [string];
    const d = await pullOne(store, 'w');
    const fence = { worker: 'w', token: d.token };
    const task = started(d.task, 'w');
    // The first send fails before it reaches Redis (as a connection lost before the write).
    const link = store.link as { run: (...args: unknown[]) => Promise<unknown> };
    const run = link.run.bind(store.link);
    link.run = () => {
      link.run = run;
      return Promise.reject(new Error('connection lost'));
    };
    let failed = false;
    await store.start(task, fence).catch(() => (failed = true));
    expect(failed, 'the first send failed').to.equal(true);
    expect(await store.start(task, fence)).to.equal(true);
    const [now] = await store.get([id]);
    expect(now).to.deep.include({ status: STARTED, worker: 'w', time_started: task.time_started });
  });
});
