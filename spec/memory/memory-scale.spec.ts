/**
 * MemoryStore at scale: its structures cost O(log N) per change, so large backlogs of delayed or
 * prioritised tasks queue in bounded time (issue 8: 100k random etas took 17.8 s), revoking does
 * not scan the delayed set, and a recovery tick costs what expired, not what is in flight.
 */
import { expect } from 'chai';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import type { WireTask } from '../../src/model/task.js';
import { ManualClock, wireTask } from './memory-support.js';

const N = 100_000;

/** Milliseconds `fn` took. */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

describe('MemoryStore at scale', function () {
  this.timeout(120_000);
  let clock: ManualClock;
  let store: MemoryStore;

  beforeEach(() => {
    clock = new ManualClock();
    store = new MemoryStore('scale', { shareObjects: true, clock: clock.now });
  });

  afterEach(async () => {
    await store.close();
  });

  /** N tasks due at random times within the next hour (from one minute on). */
  const delayedTasks = (): WireTask[] =>
    Array.from({ length: N }, () => wireTask({ eta: (clock.ms + 60_000 + Math.random() * 3_600_000) / 1000 }, clock.ms));

  it('queues 100k tasks with random delays in under 1 s, and hands them out in eta order', async () => {
    const tasks = delayedTasks();
    const ms = await timed(() => store.queue(tasks));
    expect(await store.numQueued()).to.equal(N);
    expect(ms, `100k random delays queued in ${ms.toFixed(0)} ms`).to.be.below(1000);

    expect(await store.pull({ worker: 'w', max: N, leaseMs: 60_000, waitMs: 0 }), 'none is due yet').to.deep.equal([]);
    clock.advance(2 * 3_600_000);
    const pulled = await store.pull({ worker: 'w', max: N, leaseMs: 60_000, waitMs: 0 });
    expect(pulled).to.have.length(N);
    const etas = pulled.map((d) => d.task.eta as number);
    expect(etas.every((eta, i) => i === 0 || (etas[i - 1] as number) <= eta), 'soonest first').to.equal(true);
  });

  it('queues 100k tasks with random priorities in under 1 s, and hands them out highest first', async () => {
    const tasks = Array.from({ length: N }, () => wireTask({ priority: Math.floor(Math.random() * 1e9) }, clock.ms));
    const ms = await timed(() => store.queue(tasks));
    expect(await store.numQueued()).to.equal(N);
    expect(ms, `100k random priorities queued in ${ms.toFixed(0)} ms`).to.be.below(1000);

    const pulled = await store.pull({ worker: 'w', max: N, leaseMs: 60_000, waitMs: 0 });
    const priorities = pulled.map((d) => d.task.priority);
    expect(priorities.every((p, i) => i === 0 || (priorities[i - 1] as number) >= p), 'highest first').to.equal(true);
  });

  it('revokes 10k of 100k delayed tasks in under 1 s, and never hands them out', async () => {
    const tasks = delayedTasks();
    await store.queue(tasks);
    const revoked = tasks.filter((_, i) => i % 10 === 0).map((t) => t.id);
    const ms = await timed(async () => {
      for (const id of revoked) expect(await store.revoke(id)).to.equal(true);
    });
    expect(ms, `10k revokes in ${ms.toFixed(0)} ms`).to.be.below(1000);
    expect(await store.numQueued()).to.equal(N - revoked.length);
    clock.advance(2 * 3_600_000);
    const pulled = await store.pull({ worker: 'w', max: N, leaseMs: 60_000, waitMs: 0 });
    const gone = new Set(revoked);
    expect(pulled).to.have.length(N - revoked.length);
    expect(pulled.some((d) => gone.has(d.task.id))).to.equal(false);
  });

  it('runs 1000 recovery ticks over 100k leases in flight in under 1 s, then recovers exactly what expired', async () => {
    await store.queue(Array.from({ length: N }, () => wireTask({}, clock.ms)));
    const held = await store.pull({ worker: 'busy', max: N, leaseMs: 60_000, waitMs: 0 });
    expect(held).to.have.length(N);
    const ms = await timed(async () => {
      for (let i = 0; i < 1000; i++) expect((await store.recover({ maxRedeliveries: 1 })).returned).to.have.length(0);
    });
    expect(ms, `1000 ticks in ${ms.toFixed(0)} ms`).to.be.below(1000);
    // Renew all but 10; only those 10 expire.
    const kept = held.slice(10).map((d) => ({ id: d.task.id, token: d.token }));
    clock.advance(30_000);
    expect(await store.renew('busy', kept, 60_000)).to.deep.equal([]);
    clock.advance(45_000);
    const result = await store.recover({ maxRedeliveries: 1 });
    expect(result.returned.sort()).to.deep.equal(held.slice(0, 10).map((d) => d.task.id).sort());
    expect(await store.numQueued()).to.equal(10);
  });

  it('recovers a dead worker that holds a few tasks among 100k in flight in under 5 ms', async () => {
    await store.queue(Array.from({ length: N + 3 }, () => wireTask({}, clock.ms)));
    await store.pull({ worker: 'busy', max: N, leaseMs: 60_000, waitMs: 0 });
    const few = await store.pull({ worker: 'dead', max: 3, leaseMs: 60_000, waitMs: 0 });
    let result: Awaited<ReturnType<MemoryStore['recover']>> | undefined;
    const ms = await timed(async () => (result = await store.recover({ maxRedeliveries: 1, worker: 'dead' })));
    expect(result?.returned.sort()).to.deep.equal(few.map((d) => d.task.id).sort());
    expect(ms, `recover(worker) in ${ms.toFixed(2)} ms`).to.be.below(5);
    const released = await timed(() => store.release('nobody'));
    expect(released, `release of a worker holding nothing in ${released.toFixed(2)} ms`).to.be.below(5);
  });
});
