/**
 * Fencing at the store level on MemoryStore: every pull of a task mints a larger token, and a
 * write carrying any other token (or about a task no longer in flight) changes nothing.
 * The scenario of issue 8: a task's lease is recovered while its first run still goes on, it is
 * delivered again (even to the same worker), and the stale run writes first.
 */
import { expect } from 'chai';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { FAILURE, QUEUED, RETRY, STARTED, SUCCESS } from '../../src/model/states.js';
import type { Delivery, Fence, TaskEvent } from '../../src/store/contract.js';
import type { WireTask } from '../../src/model/task.js';
import { ManualClock, wireTask } from './memory-support.js';

const LEASE = 30_000;

describe('MemoryStore fencing', () => {
  let clock: ManualClock;
  let store: MemoryStore;
  let events: [TaskEvent, string][];

  beforeEach(async () => {
    clock = new ManualClock();
    store = new MemoryStore('fencing', { clock: clock.now });
    events = [];
    await store.subscribe((event, id) => events.push([event, id]));
  });

  afterEach(async () => {
    await store.close();
  });

  const pullOne = async (worker: string): Promise<Delivery> => {
    const [delivery] = await store.pull({ worker, max: 1, leaseMs: LEASE, waitMs: 0 });
    expect(delivery, `a delivery for ${worker}`).to.not.equal(undefined);
    return delivery as Delivery;
  };
  const fenceOf = (d: Delivery, worker: string): Fence => ({ worker, token: d.token });
  const running = (d: Delivery, worker: string): WireTask => ({ ...d.task, status: STARTED, worker, time_started: clock.ms / 1000 });
  const ended = (d: Delivery, result: string): WireTask => ({ ...d.task, status: SUCCESS, result, time_ended: clock.ms / 1000 });
  const stored = async (id: string) => (await store.get([id]))[0] as WireTask;
  /** Events seen so far, once the microtasks that deliver them ran. */
  const seen = async () => {
    await new Promise((r) => setImmediate(r));
    return events.map(([e]) => e);
  };

  /** Queues a task, delivers it to `first` who starts it, lets its lease expire, recovers it. */
  async function deliveredTwice(first: string, second: string) {
    const task = wireTask({ lock_id: 'the-lock' }, clock.ms);
    await store.queue([task]);
    const stale = await pullOne(first);
    expect(await store.start(running(stale, first), fenceOf(stale, first))).to.equal(true);
    clock.advance(LEASE + 1);
    expect((await store.recover({ maxRedeliveries: 5 })).requeued).to.deep.equal([task.id]);
    const live = await pullOne(second);
    expect(live.task.id).to.equal(task.id);
    expect(live.token, 'a new, larger token').to.be.greaterThan(stale.token);
    return { id: task.id, stale, live };
  }

  for (const [label, first, second] of [
    ['another worker', 'w1', 'w2'],
    ['the same worker', 'w1', 'w1'],
  ] as const) {
    it(`keeps the live run's writes and refuses the stale run's when the task went to ${label}`, async () => {
      const { id, stale, live } = await deliveredTwice(first, second);
      expect(await store.start(running(live, second), fenceOf(live, second))).to.equal(true);
      events = [];

      const old = fenceOf(stale, first);
      expect(await store.start(running(stale, first), old), 'stale start').to.equal(false);
      expect(await store.progress(id, 'stale', old), 'stale progress').to.equal(false);
      expect(await store.retry({ ...stale.task, status: RETRY, retries: 1 }, old), 'stale retry').to.equal(false);
      expect(await store.renew(first, [{ id, token: stale.token }], LEASE), 'stale renew').to.deep.equal([id]);
      expect(await store.release(first, [{ id, token: stale.token }]), 'stale release').to.deep.equal([]);
      expect(await store.finish(ended(stale, 'stale'), old), 'stale finish').to.equal(false);
      let task = await stored(id);
      expect(task.status).to.equal(STARTED);
      expect(task.retries).to.equal(0);
      expect(task.meta).to.deep.equal({});
      expect(await store.numQueued()).to.equal(0);
      expect(await seen(), 'nothing published for stale writes').to.deep.equal([]);
      expect(await store.queue([wireTask({ lock_id: 'the-lock' }, clock.ms)]), 'the lock is still held').to.deep.equal([null]);

      const now = fenceOf(live, second);
      expect(await store.renew(second, [{ id, token: live.token }], LEASE)).to.deep.equal([]);
      expect(await store.progress(id, 'live', now)).to.equal(true);
      expect(await store.finish(ended(live, 'live'), now)).to.equal(true);
      task = await stored(id);
      expect(task.status).to.equal(SUCCESS);
      expect(task.result).to.equal('live');
      expect(await seen()).to.deep.equal(['task_progress', 'task_done']);

      // Once finished, no token writes any more, not even the live one's.
      expect(await store.finish({ ...ended(live, 'again'), status: FAILURE }, now)).to.equal(false);
      expect(await store.progress(id, 'late', now)).to.equal(false);
      expect((await stored(id)).result).to.equal('live');
    });
  }

  it('refuses a token that was never minted, and a right token from the wrong worker', async () => {
    const task = wireTask({}, clock.ms);
    await store.queue([task]);
    const d = await pullOne('w1');
    expect(await store.start(running(d, 'w1'), { worker: 'w1', token: d.token + 1 })).to.equal(false);
    expect(await store.start(running(d, 'w2'), { worker: 'w2', token: d.token })).to.equal(false);
    expect((await stored(task.id)).status).to.equal(QUEUED);
    expect(await store.start(running(d, 'w1'), fenceOf(d, 'w1'))).to.equal(true);
  });

  it('lets a stale retry change nothing, and the live retry queue the task again', async () => {
    const { id, stale, live } = await deliveredTwice('w1', 'w2');
    expect(await store.retry({ ...stale.task, status: RETRY, retries: 1, retry_delay: 0 }, fenceOf(stale, 'w1'))).to.equal(false);
    expect(await store.numQueued()).to.equal(0);
    expect(await store.retry({ ...live.task, status: RETRY, retries: 1, retry_delay: 0 }, fenceOf(live, 'w2'))).to.equal(true);
    expect(await store.numQueued()).to.equal(1);
    const third = await pullOne('w3');
    expect(third.task.id).to.equal(id);
    expect(third.token).to.be.greaterThan(live.token);
    expect(third.task.retries).to.equal(1);
  });

  it("answers a retry without delay before its task reaches the same worker's parked pull, with a new token", async () => {
    const task = wireTask({}, clock.ms);
    await store.queue([task]);
    const first = await pullOne('w1');
    const fence = fenceOf(first, 'w1');
    expect(await store.start(running(first, 'w1'), fence)).to.equal(true);
    let pulled = false;
    const parked = store.pull({ worker: 'w1', max: 5, leaseMs: LEASE, waitMs: 30_000 }).then((deliveries) => {
      pulled = true;
      return deliveries;
    });
    expect(await store.retry({ ...running(first, 'w1'), status: RETRY, retries: 1, retry_delay: 0 }, fence)).to.equal(true);
    // The worker settles its run on the answer to retry: the delivery must come on a later turn.
    for (let i = 0; i < 50; i++) await Promise.resolve();
    expect(pulled, 'handed out in the turn of the retry').to.equal(false);
    const [again] = await parked;
    expect(again?.task.id).to.equal(task.id);
    expect(again?.token).to.be.greaterThan(first.token);
  });

  it('keeps the lease of the live delivery when the stale one renews or is recovered', async () => {
    const { id, live } = await deliveredTwice('w1', 'w2');
    clock.advance(LEASE - 1);
    expect(await store.recover({ maxRedeliveries: 5, worker: 'w1' }), 'w1 holds nothing any more').to.deep.equal({ requeued: [], failed: [], returned: [] });
    expect(await store.recover({ maxRedeliveries: 5 }), 'the live lease has not expired').to.deep.equal({ requeued: [], failed: [], returned: [] });
    expect(await store.finish(ended(live, 'live'), fenceOf(live, 'w2'))).to.equal(true);
    expect((await stored(id)).result).to.equal('live');
  });
});
