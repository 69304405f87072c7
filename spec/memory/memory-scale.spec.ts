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

/**
 * Wall time on a shared, loaded machine also counts GC pauses and other processes holding the
 * CPU; an O(N) structure is slow every time (the costs these specs guard against are 10–100×
 * their budgets). So a run over budget is tried again on fresh state (`attempt` prepares and
 * times one), up to three runs in all, and the fastest counts.
 */
async function fastest(budgetMs: number, attempt: () => Promise<number>): Promise<number> {
  let best = await attempt();
  for (let run = 1; run < 3 && best >= budgetMs; run++) best = Math.min(best, await attempt());
  return best;
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

  it('queues 100k tasks with random delays in under 1 s, and hands each out once due, not before', async () => {
    let tasks: WireTask[] = [];
    const ms = await fastest(1000, async () => {
      await store.close();
      store = new MemoryStore('scale', { shareObjects: true, clock: clock.now });
      tasks = delayedTasks();
      return timed(() => store.queue(tasks));
    });
    expect(await store.numQueued()).to.equal(N);
    expect(ms, `100k random delays queued in ${ms.toFixed(0)} ms`).to.be.below(1000);

    expect(await store.pull({ worker: 'w', max: N, leaseMs: 60_000, waitMs: 0 }), 'none is due yet').to.deep.equal([]);
    // Six minutes at a time: each pull hands out exactly the tasks that came due in that step.
    let total = 0;
    for (let step = 0; step < 11; step++) {
      const from = clock.ms;
      clock.advance(6 * 60_000);
      const pulled = await store.pull({ worker: 'w', max: N, leaseMs: 60_000, waitMs: 0 });
      const etas = pulled.map((d) => (d.task.eta as number) * 1000);
      expect(etas.every((eta) => eta > from && eta <= clock.ms), `step ${step}: only what came due`).to.equal(true);
      total += pulled.length;
    }
    expect(total).to.equal(N);
  });

  it('queues 100k tasks with random priorities in under 1 s, and hands them out highest first', async () => {
    const ms = await fastest(1000, async () => {
      await store.close();
      store = new MemoryStore('scale', { shareObjects: true, clock: clock.now });
      const tasks = Array.from({ length: N }, () => wireTask({ priority: Math.floor(Math.random() * 1e9) }, clock.ms));
      return timed(() => store.queue(tasks));
    });
    expect(await store.numQueued()).to.equal(N);
    expect(ms, `100k random priorities queued in ${ms.toFixed(0)} ms`).to.be.below(1000);

    const pulled = await store.pull({ worker: 'w', max: N, leaseMs: 60_000, waitMs: 0 });
    const priorities = pulled.map((d) => d.task.priority);
    expect(priorities.every((p, i) => i === 0 || (priorities[i - 1] as number) >= p), 'highest first').to.equal(true);
  });

  it('revokes 10k of 100k delayed tasks in under 1 s, and never hands them out', async () => {
    let revoked: string[] = [];
    const ms = await fastest(1000, async () => {
      await store.close();
      store = new MemoryStore('scale', { shareObjects: true, clock: clock.now });
      const tasks = delayedTasks();
      await store.queue(tasks);
      revoked = tasks.filter((_, i) => i % 10 === 0).map((t) => t.id);
      return timed(async () => {
        for (const id of revoked) expect(await store.revoke(id)).to.equal(true);
      });
    });
    expect(ms, `10k revokes in ${ms.toFixed(0)} ms`).to.be.below(1000);
    expect(await store.numQueued()).to.equal(N - revoked.length);
    clock.advance(2 * 3_600_000);
    const pulled = await store.pull({ worker: 'w', max: N, leaseMs: 60_000, waitMs: 0 });
    const gone = new Set(revoked);
    expect(pulled).to.have.length(N - revoked.length);
    expect(pulled.some((d) => gone.has(d.task.id))).to.equal(false);
  });

  it('hands out the right tasks in order after most ready ones were revoked (their queues rebuilt)', async () => {
    const tasks = Array.from({ length: 5000 }, (_, i) => wireTask({ priority: i % 5 }, clock.ms));
    await store.queue(tasks);
    const kept = new Set(tasks.filter((_, i) => i % 5 === 0 || i % 7 === 0).map((t) => t.id));
    for (const task of tasks) if (!kept.has(task.id)) expect(await store.revoke(task.id)).to.equal(true);
    const delayed = wireTask({ eta: clock.ms / 1000 + 60 }, clock.ms);
    await store.queue([delayed]);
    const pulled = (await store.pull({ worker: 'w', max: 10_000, leaseMs: 60_000, waitMs: 0 })).map((d) => d.task.id);
    const expected = tasks.filter((t) => kept.has(t.id)).sort((a, b) => b.priority - a.priority).map((t) => t.id);
    expect(pulled).to.deep.equal(expected);
    clock.advance(60_000);
    expect((await store.pull({ worker: 'w', max: 10, leaseMs: 60_000, waitMs: 0 })).map((d) => d.task.id)).to.deep.equal([delayed.id]);
  });

  it('runs 1000 recovery ticks over 100k leases in flight in under 1 s, then recovers exactly what expired', async () => {
    await store.queue(Array.from({ length: N }, () => wireTask({}, clock.ms)));
    const held = await store.pull({ worker: 'busy', max: N, leaseMs: 60_000, waitMs: 0 });
    expect(held).to.have.length(N);
    // Recovery ticks change nothing here: the same state is timed again when over budget.
    const ms = await fastest(1000, () =>
      timed(async () => {
        for (let i = 0; i < 1000; i++) expect((await store.recover({ maxRedeliveries: 1 })).returned).to.have.length(0);
      }),
    );
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

  it('recovers 200 dead workers holding 3 tasks each among 100k in flight in under 200 ms (what they hold, not what flies)', async () => {
    await store.queue(Array.from({ length: N + 3 }, () => wireTask({}, clock.ms)));
    await store.pull({ worker: 'busy', max: N, leaseMs: 60_000, waitMs: 0 });
    // Each round hands its 3 tasks back to the queue: the next round finds the same state.
    const ms = await fastest(200, async () => {
      let returned = 0;
      const ms = await timed(async () => {
        for (let i = 0; i < 200; i++) {
          const few = await store.pull({ worker: `dead-${i}`, max: 3, leaseMs: 60_000, waitMs: 0 });
          const result = await store.recover({ maxRedeliveries: 1, worker: `dead-${i}` });
          expect(result.returned.sort()).to.deep.equal(few.map((d) => d.task.id).sort());
          returned += result.returned.length;
          await store.release(`nobody-${i}`);
        }
      });
      expect(returned).to.equal(600);
      return ms;
    });
    expect(ms, `200 × (pull 3, recover the worker, release a worker holding nothing) in ${ms.toFixed(0)} ms`).to.be.below(200);
  });
});
