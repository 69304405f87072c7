/**
 * MemoryStore under a long random (seeded, so repeatable) mix of every call, checked against a
 * model of where each task is: waiting, in flight (worker, token, started) or ended. Nothing is
 * lost or handed out twice, counts match, tokens only grow, and in the end every task can end.
 */
import { expect } from 'chai';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { FAILURE, READY_STATES, RETRY, STARTED, SUCCESS } from '../../src/model/states.js';
import { EXPIRED_MESSAGE } from '../../src/store/contract.js';
import type { WireTask } from '../../src/model/task.js';
import { ManualClock, seededRandom as random, wireTask } from './memory-support.js';

type Place = { at: 'waiting' } | { at: 'flight'; worker: string; token: number; started: boolean; task: WireTask } | { at: 'ended' };

describe('MemoryStore under a random mix of calls', function () {
  this.timeout(120_000);

  for (const seed of [1, 2, 3]) {
    it(`keeps every task accounted for (seed ${seed})`, async () => {
      const rand = random(seed);
      const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)] as T;
      const clock = new ManualClock(1_700_000_000_000);
      const store = new MemoryStore('invariants', { clock: clock.now });
      const model = new Map<string, Place>();
      const tokens = new Map<string, number>();
      const workers = ['w1', 'w2', 'w3'];
      const LEASE = 10_000;
      /** Tasks a pull found expired ended there: the model learns it from the store. */
      const learnExpired = async () => {
        for (const task of await store.get([...model.keys()])) {
          if (task && READY_STATES.has(task.status) && model.get(task.id)?.at === 'waiting') {
            expect(task.result).to.equal(EXPIRED_MESSAGE);
            model.set(task.id, { at: 'ended' });
          }
        }
      };
      const inFlight = () => [...model].filter(([, p]) => p.at === 'flight') as [string, Extract<Place, { at: 'flight' }>][];
      try {
        for (let step = 0; step < 3000; step++) {
          const r = rand();
          if (r < 0.2) {
            const tasks = Array.from({ length: 1 + Math.floor(rand() * 5) }, () =>
              wireTask({ priority: Math.floor(rand() * 3), eta: rand() < 0.3 ? clock.ms / 1000 + rand() * 20 : null, expiry: rand() < 0.1 ? clock.ms / 1000 + rand() * 30 : null }, clock.ms),
            );
            for (const id of await store.queue(tasks)) model.set(id as string, { at: 'waiting' });
          } else if (r < 0.4) {
            const worker = pick(workers);
            for (const d of await store.pull({ worker, max: 1 + Math.floor(rand() * 4), leaseMs: LEASE, waitMs: 0 })) {
              expect(model.get(d.task.id)?.at, 'only a waiting task is handed out').to.equal('waiting');
              expect(d.token, 'tokens grow').to.be.greaterThan(tokens.get(d.task.id) ?? 0);
              expect((d.task.eta ?? 0) * 1000, 'due').to.be.at.most(clock.ms);
              tokens.set(d.task.id, d.token);
              model.set(d.task.id, { at: 'flight', worker, token: d.token, started: false, task: d.task });
            }
          } else if (r < 0.6 && inFlight().length) {
            const [id, f] = pick(inFlight());
            const fence = { worker: f.worker, token: f.token };
            const what = rand();
            if (what < 0.4) {
              expect(await store.start({ ...f.task, status: STARTED, worker: f.worker }, fence)).to.equal(true);
              f.started = true;
            } else if (what < 0.7) {
              expect(await store.finish({ ...f.task, status: rand() < 0.5 ? SUCCESS : FAILURE, time_ended: clock.ms / 1000 }, fence)).to.equal(true);
              model.set(id, { at: 'ended' });
            } else if (what < 0.85) {
              expect(await store.retry({ ...f.task, status: RETRY, retry_delay: rand() * 5 }, fence)).to.equal(true);
              model.set(id, { at: 'waiting' });
            } else {
              expect(await store.renew(f.worker, [{ id, token: f.token }], LEASE)).to.deep.equal([]);
              // A stale token is refused.
              expect(await store.start({ ...f.task, status: STARTED }, { worker: f.worker, token: f.token - 1 })).to.equal(false);
            }
          } else if (r < 0.7) {
            const waiting = [...model].filter(([, p]) => p.at === 'waiting').map(([id]) => id);
            if (waiting.length) {
              const id = pick(waiting);
              // Refused only for a task a pull found expired (the model learns of it here).
              if (!(await store.revoke(id))) expect((await store.get([id]))[0]?.result).to.equal(EXPIRED_MESSAGE);
              model.set(id, { at: 'ended' });
            }
          } else if (r < 0.8) {
            const worker = rand() < 0.5 ? pick(workers) : undefined;
            const released = worker !== undefined && rand() < 0.5;
            const result = released ? { requeued: [], failed: [], returned: await store.release(worker) } : await store.recover({ maxRedeliveries: 1, worker });
            const all = [...result.requeued, ...result.failed, ...result.returned];
            expect(new Set(all).size, 'each once').to.equal(all.length);
            for (const id of all) {
              const place = model.get(id) as Extract<Place, { at: 'flight' }>;
              expect(place.at, `${id} was in flight`).to.equal('flight');
              if (worker !== undefined) expect(place.worker).to.equal(worker);
              // A recovery charges only what started; a release charges nothing.
              if (!released) expect(place.started, `${id} charged iff started`).to.equal(!result.returned.includes(id));
            }
            for (const id of [...result.requeued, ...result.returned]) model.set(id, { at: 'waiting' });
            for (const id of result.failed) model.set(id, { at: 'ended' });
          } else if (r < 0.97) {
            clock.advance(Math.floor(rand() * 3000));
          } else {
            await learnExpired();
            const purged = await store.purge(rand() * 20_000, 50);
            let gone = 0;
            const ids = [...model.keys()];
            for (const [i, task] of (await store.get(ids)).entries()) {
              if (task !== null) continue;
              const id = ids[i] as string;
              expect(model.get(id)?.at, `only an ended task is purged (${id})`).to.equal('ended');
              model.delete(id);
              gone += 1;
            }
            expect(gone).to.equal(purged);
          }
          if (step % 50 === 0) {
            await learnExpired();
            const waiting = [...model.values()].filter((p) => p.at === 'waiting').length;
            expect(await store.numQueued(), `numQueued at step ${step}`).to.equal(waiting);
          }
        }
        // In the end every task can end: recover what flies, pull and finish everything.
        clock.advance(3_600_000);
        await store.recover({ maxRedeliveries: 100 });
        for (let d = await store.pull({ worker: 'end', max: 1000, leaseMs: LEASE, waitMs: 0 }); d.length; d = await store.pull({ worker: 'end', max: 1000, leaseMs: LEASE, waitMs: 0 })) {
          for (const x of d) expect(await store.finish({ ...x.task, status: SUCCESS, time_ended: clock.ms / 1000 }, { worker: 'end', token: x.token })).to.equal(true);
        }
        expect(await store.numQueued()).to.equal(0);
        const stored = await store.get([...model.keys()]);
        expect(stored.every((t) => t !== null && READY_STATES.has(t.status)), 'every task ended').to.equal(true);
        let listed = 0;
        for (let page = await store.list({}, { limit: 1000, cursor: null }); ; page = await store.list({}, { limit: 1000, cursor: page.cursor })) {
          listed += page.tasks.length;
          if (page.cursor === null) break;
        }
        expect(listed, 'listed once each').to.equal(model.size);
      } finally {
        await store.close();
      }
    });
  }
});
