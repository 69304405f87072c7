/**
 * One clock: Redis's. A process whose clock is skewed by ±5 minutes (Date.now stubbed here, for
 * the producer, the worker and the monitor alike) takes no task's lease, revokes nothing as
 * expired, delays nothing and runs nothing early: every time is taken from Redis TIME.
 */
import { expect } from 'chai';
import { QUEUED, RETRY, REVOKED, STARTED } from '../../src/model/states.js';
import { dropNamespace, redisAvailable } from './redis-env.js';
import { appName, storeClockPast, Stores, wireTask } from './redis-tasks.js';

const realNow = Date.now;

for (const skewMs of [5 * 60_000, -5 * 60_000]) {
  const label = skewMs > 0 ? 'ahead' : 'behind';

  describe(`redis:// with a process clock 5 minutes ${label}`, function () {
    const stores = new Stores();

    before(async function () {
      if (!(await redisAvailable())) this.skip();
    });
    beforeEach(() => {
      Date.now = () => realNow() + skewMs;
    });
    afterEach(async () => {
      Date.now = realNow;
      await stores.closeAll();
    });
    after(() => dropNamespace().catch(() => undefined));

    it('queues on the store clock: no delay lost or added, no task expired on arrival', async () => {
      const store = stores.store(appName('skew'));
      const now = Date.now() / 1000;
      const [ready, delayed, expiring] = (await store.queue([
        wireTask({ time_queued: now }),
        wireTask({ time_queued: now, eta: now + 30 }),
        wireTask({ time_queued: now, expiry: now + 60 }),
      ])) as [string, string, string];
      const storeNow = await store.now();
      const [r, d, e] = await store.get([ready, delayed, expiring]);
      for (const t of [r, d, e]) expect(Math.abs((t?.time_queued as number) * 1000 - storeNow), 'time_queued: store clock').to.be.below(2000);
      expect((d?.eta as number) * 1000 - storeNow, 'the delay kept').to.be.within(28_000, 31_000);
      expect((e?.expiry as number) * 1000 - storeNow, 'the expiry kept').to.be.within(58_000, 61_000);
      const pulled = await store.pull({ worker: 'w', max: 10, leaseMs: 30_000, waitMs: 0 });
      expect(pulled.map((x) => x.task.id).sort(), 'the ready and the expiring task, not the delayed one').to.deep.equal([ready, expiring].sort());
      expect(pulled.every((x) => x.task.status === QUEUED)).to.equal(true);
      expect((await store.get([delayed]))[0]?.status).to.equal(QUEUED);
    });

    it("takes no running task's lease in recover, and renews on the store clock", async () => {
      const store = stores.store(appName('skew'));
      const monitor = stores.store(store.name);
      const [id] = (await store.queue([wireTask()])) as [string];
      const [d] = await store.pull({ worker: 'w', max: 1, leaseMs: 30_000, waitMs: 0 });
      expect(await store.start({ ...d!.task, status: STARTED, worker: 'w' }, { worker: 'w', token: d!.token })).to.equal(true);
      expect(await monitor.recover({ maxRedeliveries: 1 })).to.deep.equal({ requeued: [], failed: [], returned: [] });
      expect(await store.renew('w', [{ id, token: d!.token }], 30_000)).to.deep.equal([]);
      expect(await monitor.recover({ maxRedeliveries: 1 })).to.deep.equal({ requeued: [], failed: [], returned: [] });
      expect((await store.get([id]))[0]?.status).to.equal(STARTED);
    });

    it('delays a retry by its retry delay on the store clock, and stamps a revoke with the store time', async () => {
      const store = stores.store(appName('skew'));
      const [id, other] = (await store.queue([wireTask({ retry_delay: 20 }), wireTask({ eta: Date.now() / 1000 + 60 })])) as [string, string];
      const [d] = await store.pull({ worker: 'w', max: 1, leaseMs: 30_000, waitMs: 0 });
      expect(await store.retry({ ...d!.task, status: RETRY, retries: 1, eta: Date.now() / 1000 + 20 }, { worker: 'w', token: d!.token })).to.equal(true);
      const storeNow = await store.now();
      expect(((await store.get([id]))[0]?.eta as number) * 1000 - storeNow).to.be.within(18_000, 21_000);
      expect(await store.revoke(other)).to.equal(true);
      const [revoked] = await store.get([other]);
      expect(revoked?.status).to.equal(REVOKED);
      expect(Math.abs((revoked?.time_ended as number) * 1000 - storeNow)).to.be.below(2000);
    });

    it(skewMs > 0 ? 'cannot claim a periodic run before it is due on the store clock' : 'claims a periodic run that is due', async () => {
      const store = stores.store(appName('skew'));
      const claimed = await store.claimRun('testperiodic', null, Date.now(), wireTask({ name: 'testperiodic' }));
      if (skewMs > 0) {
        expect(claimed).to.equal(false);
        expect(await store.lastRuns()).to.deep.equal({});
        expect(await store.numQueued()).to.equal(0);
      } else {
        expect(claimed).to.be.a('string');
        expect(await store.numQueued()).to.equal(1);
      }
      // Due on the store clock: claimed, whoever asks.
      const due = await store.now();
      const previous = (await store.lastRuns()).testperiodic ?? null;
      expect(await store.claimRun('testperiodic', previous, due, wireTask({ name: 'testperiodic' }))).to.be.a('string');
    });

    it('purges by age on the store clock', async () => {
      const store = stores.store(appName('skew'));
      const [id] = (await store.queue([wireTask({ eta: Date.now() / 1000 + 60 })])) as [string];
      expect(await store.revoke(id)).to.equal(true);
      // Ended a moment ago: a minute is not over on the store clock, whatever this process thinks.
      expect(await store.purge(60_000, 10)).to.equal(0);
      await storeClockPast(store, Math.round(((await store.get([id]))[0]?.time_ended as number) * 1000));
      expect(await store.purge(0, 10)).to.equal(1);
    });
  });
}
