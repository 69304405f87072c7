/**
 * Hand-backs and recoveries on MemoryStore: a stopping worker's release counts nothing; a lost
 * worker's recovery charges a redelivery only to the tasks that had started (never `retries`),
 * and gives back the ones it pulled but never started as they were (issue 8, points 6 and 11).
 */
import { expect } from 'chai';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { FAILURE, QUEUED, RETRY, STARTED } from '../../src/model/states.js';
import { workerLostMessage, type Delivery, type TaskEvent } from '../../src/store/contract.js';
import type { WireTask } from '../../src/model/task.js';
import { ManualClock, wireTask } from './memory-support.js';

const LEASE = 30_000;

describe('MemoryStore hand-backs and recoveries', () => {
  let clock: ManualClock;
  let store: MemoryStore;
  let events: [TaskEvent, string][];

  beforeEach(async () => {
    clock = new ManualClock();
    store = new MemoryStore('recovery', { clock: clock.now });
    events = [];
    await store.subscribe((event, id) => events.push([event, id]));
  });

  afterEach(async () => {
    await store.close();
  });

  const pull = (worker: string, max: number) => store.pull({ worker, max, leaseMs: LEASE, waitMs: 0 });
  const start = (d: Delivery, worker: string) =>
    store.start({ ...d.task, status: STARTED, worker, time_started: clock.ms / 1000 }, { worker, token: d.token });
  const stored = async (id: string) => (await store.get([id]))[0] as WireTask;
  const queueFive = async (fields: Partial<WireTask> = {}) => {
    const tasks = Array.from({ length: 5 }, (_, i) => wireTask({ lock_id: `lock-${i}`, ...fields }, clock.ms));
    await store.queue(tasks);
    return tasks.map((t) => t.id);
  };

  it('charges only the started task of a dead worker; its 4 never-started siblings go back as they were', async () => {
    const ids = await queueFive({ retries: 1, status: RETRY });
    const batch = await pull('dead', 5);
    expect(batch).to.have.length(5);
    const ran = batch[2] as Delivery;
    expect(await start(ran, 'dead')).to.equal(true);

    const result = await store.recover({ maxRedeliveries: 1, worker: 'dead' });
    expect(result.requeued).to.deep.equal([ran.task.id]);
    expect(result.failed).to.deep.equal([]);
    expect(result.returned.sort()).to.deep.equal(ids.filter((id) => id !== ran.task.id).sort());

    const charged = await stored(ran.task.id);
    expect(charged).to.include({ status: QUEUED, redeliveries: 1, retries: 1, worker: null, time_started: null });
    for (const id of result.returned) {
      expect(await stored(id), id).to.include({ status: RETRY, redeliveries: 0, retries: 1 });
    }
    expect(await store.numQueued()).to.equal(5);
    // Nothing ended: every lock is still held.
    expect(await store.queue([wireTask({ lock_id: 'lock-0' }, clock.ms)])).to.deep.equal([null]);
  });

  it('fails a started task past the redelivery bound as worker lost, and never an unstarted one', async () => {
    const [id] = await store.queue([wireTask({ lock_id: 'only' }, clock.ms)]);
    for (let round = 0; round < 3; round++) {
      // Pulled but never started: handed back uncharged, however often.
      await pull('flaky', 1);
      expect((await store.recover({ maxRedeliveries: 1, worker: 'flaky' })).returned).to.deep.equal([id]);
    }
    expect((await stored(id as string)).redeliveries).to.equal(0);

    let [d] = await pull('w', 1);
    await start(d as Delivery, 'w');
    clock.advance(LEASE + 1);
    expect(await store.recover({ maxRedeliveries: 1 })).to.deep.equal({ requeued: [id], failed: [], returned: [] });
    [d] = await pull('w', 1);
    await start(d as Delivery, 'w');
    clock.advance(LEASE + 1);
    events = [];
    expect(await store.recover({ maxRedeliveries: 1 })).to.deep.equal({ requeued: [], failed: [id], returned: [] });
    const failed = await stored(id as string);
    expect(failed).to.include({ status: FAILURE, result: workerLostMessage(1), redeliveries: 1, retries: 0 });
    expect(failed.time_ended).to.equal(clock.ms / 1000);
    await new Promise((r) => setImmediate(r));
    expect(events).to.deep.equal([['task_done', id]]);
    expect(await store.queue([wireTask({ lock_id: 'only' }, clock.ms)]), 'its lock is released').to.not.deep.equal([null]);
  });

  it('hands a stopping worker\'s tasks back with nothing counted, started or not, and ends its parked pulls', async () => {
    const ids = await queueFive();
    const batch = await pull('stopping', 5);
    await start(batch[0] as Delivery, 'stopping');
    await start(batch[1] as Delivery, 'stopping');
    const parked = store.pull({ worker: 'stopping', max: 5, leaseMs: LEASE, waitMs: 60_000 });
    expect((await store.release('stopping')).sort()).to.deep.equal([...ids].sort());
    expect(await parked, 'its parked pull answers nothing, and took nothing back').to.deep.equal([]);
    for (const id of ids) {
      expect(await stored(id), id).to.include({ status: QUEUED, redeliveries: 0, retries: 0, worker: null, time_started: null });
    }
    expect(await store.numQueued()).to.equal(5);
    expect(await store.release('stopping'), 'it holds nothing any more').to.deep.equal([]);
    expect(await store.recover({ maxRedeliveries: 0, worker: 'stopping' })).to.deep.equal({ requeued: [], failed: [], returned: [] });
  });

  it('hands back only the deliveries named, and only with their current tokens', async () => {
    await queueFive();
    const batch = await pull('w', 5);
    const [a, b] = batch as [Delivery, Delivery];
    expect(await store.release('w', [{ id: a.task.id, token: a.token }, { id: b.task.id, token: b.token + 1 }, { id: 'unknown', token: 1 }])).to.deep.equal([a.task.id]);
    expect(await store.numQueued()).to.equal(1);
    expect(await store.renew('w', batch.map((d) => ({ id: d.task.id, token: d.token })), LEASE)).to.deep.equal([a.task.id]);
  });

  it('puts a task handed back, recovered or retried at once back in its old place, before newer tasks', async () => {
    const ids = await queueFive();
    const next = async () => ((await pull('w', 1)) as Delivery[])[0] as Delivery;
    const first = await next();
    expect(first.task.id).to.equal(ids[0]);
    await store.release('w');
    const again = await next();
    expect(again.task.id, 'handed back').to.equal(ids[0]);
    await start(again, 'w');
    expect((await store.recover({ maxRedeliveries: 5, worker: 'w' })).requeued).to.deep.equal([ids[0]]);
    const third = await next();
    expect(third.task.id, 'recovered').to.equal(ids[0]);
    await start(third, 'w');
    expect(await store.retry({ ...third.task, status: RETRY, retries: 1, retry_delay: 0 }, { worker: 'w', token: third.token })).to.equal(true);
    expect((await next()).task.id, 'retried').to.equal(ids[0]);
    expect((await next()).task.id).to.equal(ids[1]);
  });

  it('recovers a task once though its lease was moved back to an earlier deadline', async () => {
    await queueFive();
    const [d] = (await pull('w', 1)) as Delivery[];
    const ref = [{ id: d!.task.id, token: d!.token }];
    expect(await store.renew('w', ref, 2 * LEASE)).to.deep.equal([]);
    expect(await store.renew('w', ref, LEASE), 'back to the first deadline').to.deep.equal([]);
    clock.advance(2 * LEASE + 1);
    expect(await store.recover({ maxRedeliveries: 1 })).to.deep.equal({ requeued: [], failed: [], returned: [d!.task.id] });
    expect(await store.numQueued()).to.equal(5);
  });

  it('recovers only the leases that expired on its clock, and costs nothing for renewed ones', async () => {
    await queueFive();
    const batch = await pull('w', 5);
    clock.advance(LEASE - 1000);
    expect(await store.renew('w', batch.slice(0, 3).map((d) => ({ id: d.task.id, token: d.token })), LEASE)).to.deep.equal([]);
    expect(await store.recover({ maxRedeliveries: 1 })).to.deep.equal({ requeued: [], failed: [], returned: [] });
    clock.advance(1001);
    const result = await store.recover({ maxRedeliveries: 1 });
    expect(result.returned.sort()).to.deep.equal(batch.slice(3).map((d) => d.task.id).sort());
    expect(await store.recover({ maxRedeliveries: 1 }), 'recovered once').to.deep.equal({ requeued: [], failed: [], returned: [] });
  });
});
