/**
 * One clock on MemoryStore: the store's. Its callers' clocks may be minutes off (here the store's
 * clock is skewed ±5 min from theirs, as an arbiter's might be): leases, due times, expiry at
 * pickup, retry delays and purge ages follow the store's clock alone, and callers' times only
 * count as durations (issue 8, point 2).
 */
import { expect } from 'chai';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { QUEUED, RETRY, REVOKED, STARTED, SUCCESS } from '../../src/model/states.js';
import { EXPIRED_MESSAGE, type Delivery } from '../../src/store/contract.js';
import type { WireTask } from '../../src/model/task.js';
import { ManualClock, wireTask } from './memory-support.js';

const MINUTES_5 = 5 * 60_000;

for (const skew of [MINUTES_5, -MINUTES_5]) {
  describe(`MemoryStore with its clock ${skew > 0 ? 'ahead of' : 'behind'} its callers' by 5 minutes`, () => {
    /** The callers' clock (producers, workers): fixed, unless a spec moves it. */
    let callers: number;
    /** The store's clock. */
    let clock: ManualClock;
    let store: MemoryStore;

    beforeEach(() => {
      callers = Date.now();
      clock = new ManualClock(callers + skew);
      store = new MemoryStore('clock', { clock: clock.now });
    });

    afterEach(async () => {
      await store.close();
    });

    /** Advances both clocks (time passes for everyone). */
    const pass = (ms: number) => {
      callers += ms;
      clock.advance(ms);
    };
    const pull = (leaseMs = 30_000) => store.pull({ worker: 'w', max: 10, leaseMs, waitMs: 0 });
    const stored = async (id: string) => (await store.get([id]))[0] as WireTask;
    const pullOne = async (leaseMs = 30_000) => {
      const [d] = await pull(leaseMs);
      expect(d, 'a delivery').to.not.equal(undefined);
      return d as Delivery;
    };

    it('stamps time_queued with its own clock and keeps the delay a producer asked for', async () => {
      const task = wireTask({ eta: callers / 1000 + 60 }, callers);
      await store.queue([task]);
      const saved = await stored(task.id);
      expect(saved.time_queued).to.equal(clock.ms / 1000);
      expect((saved.eta as number) - saved.time_queued).to.be.closeTo(60, 1e-6);
      expect(await store.now()).to.equal(clock.ms);
      expect(await pull(), 'not due before its delay').to.deep.equal([]);
      pass(59_999);
      expect(await pull()).to.deep.equal([]);
      pass(1);
      expect((await pull()).map((d) => d.task.id)).to.deep.equal([task.id]);
    });

    it('expires a task at pickup after the lag the producer gave, not before', async () => {
      const task = wireTask({ expiry: callers / 1000 + 60 }, callers);
      const late = wireTask({ expiry: callers / 1000 + 60 }, callers);
      await store.queue([task]);
      expect((await pull()).map((d) => d.task.id), 'within its expiry').to.deep.equal([task.id]);
      await store.queue([late]);
      pass(60_000);
      expect(await pull(), 'expired: not handed out').to.deep.equal([]);
      const revoked = await stored(late.id);
      expect(revoked).to.include({ status: REVOKED, result: EXPIRED_MESSAGE, time_started: null });
      expect(revoked.time_ended).to.equal(clock.ms / 1000);
    });

    it('keeps a lease for the duration asked, on its clock only', async () => {
      await store.queue([wireTask({}, callers)]);
      const d = await pullOne(30_000);
      expect(await store.recover({ maxRedeliveries: 1 })).to.deep.equal({ requeued: [], failed: [], returned: [] });
      pass(29_000);
      expect(await store.renew('w', [{ id: d.task.id, token: d.token }], 30_000)).to.deep.equal([]);
      pass(29_000);
      expect(await store.recover({ maxRedeliveries: 1 }), 'renewed 29 s ago for 30 s').to.deep.equal({ requeued: [], failed: [], returned: [] });
      pass(1001);
      expect((await store.recover({ maxRedeliveries: 1 })).returned).to.deep.equal([d.task.id]);
    });

    it("queues a retry after its retry delay on its clock, whatever eta the worker sent", async () => {
      const task = wireTask({ retry_delay: 10 }, callers);
      await store.queue([task]);
      const d = await pullOne();
      const fence = { worker: 'w', token: d.token };
      expect(await store.start({ ...d.task, status: STARTED, worker: 'w', time_started: callers / 1000 }, fence)).to.equal(true);
      // The worker computes an eta on its own clock: the store ignores it.
      expect(await store.retry({ ...d.task, status: RETRY, retries: 1, eta: callers / 1000 + 10 }, fence)).to.equal(true);
      expect((await stored(task.id)).eta).to.equal(clock.ms / 1000 + 10);
      pass(9_999);
      expect(await pull()).to.deep.equal([]);
      pass(1);
      expect((await pull()).map((x) => x.task.id)).to.deep.equal([task.id]);
    });

    it('purges by the age of an end on its clock, whatever time_ended the worker wrote', async () => {
      const task = wireTask({}, callers);
      await store.queue([task]);
      const d = await pullOne();
      // The worker's clock puts the end 10 minutes in the past of the store.
      const done = { ...d.task, status: SUCCESS, result: 3, time_ended: (clock.ms - 2 * MINUTES_5) / 1000 } as WireTask;
      expect(await store.finish(done, { worker: 'w', token: d.token })).to.equal(true);
      expect(await store.purge(60_000, 10), 'it ended just now').to.equal(0);
      pass(60_000);
      expect(await store.purge(60_000, 10)).to.equal(1);
      expect(await store.get([task.id])).to.deep.equal([null]);
    });

    it('wakes a parked pull with a delayed task after its delay on a real timer, not before', async () => {
      const real = new MemoryStore('clock-real', { clock: () => Date.now() + skew });
      try {
        const task = wireTask({ eta: Date.now() / 1000 + 0.2 }, Date.now());
        const asked = Date.now();
        await real.queue([task]);
        const [d] = await real.pull({ worker: 'w', max: 1, leaseMs: 30_000, waitMs: 30_000 });
        expect(d?.task.id).to.equal(task.id);
        expect(Date.now() - asked).to.be.at.least(190);
        expect((await real.get([task.id]))[0]?.status).to.equal(QUEUED);
      } finally {
        await real.close();
      }
    });
  });
}
