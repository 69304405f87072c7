/**
 * Queueing on MemoryStore: idempotency keys remembered for their window (store clock), a resent
 * task stored once, periodic runs claimed and queued in one step, purge by age and state, and a
 * clear error for each bad argument.
 */
import { expect } from 'chai';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { InvalidTaskArguments } from '../../src/model/errors.js';
import { FAILURE, QUEUED, REVOKED, STARTED, SUCCESS, type TaskStatus } from '../../src/model/states.js';
import type { Delivery } from '../../src/store/contract.js';
import { ManualClock, wireTask } from './memory-support.js';

describe('MemoryStore queueing', () => {
  let clock: ManualClock;
  let store: MemoryStore;

  beforeEach(() => {
    clock = new ManualClock();
    store = new MemoryStore('queueing', { clock: clock.now });
  });

  afterEach(async () => {
    await store.close();
  });

  /** Rejects with InvalidTaskArguments, with a message matching `pattern`. */
  async function refused(call: () => Promise<unknown>, pattern: RegExp): Promise<void> {
    let error: unknown;
    await call().catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(InvalidTaskArguments);
    expect((error as Error).message).to.match(pattern);
  }

  it('gives the first id to a key resent within its window, and queues a new task once the window passed', async () => {
    const window = { idempotencyWindowMs: 60_000 };
    const first = wireTask({}, clock.ms);
    expect(await store.queue([first], { idempotencyKeys: ['k'], ...window })).to.deep.equal([first.id]);
    clock.advance(59_999);
    expect(await store.queue([wireTask({}, clock.ms)], { idempotencyKeys: ['k'], ...window })).to.deep.equal([first.id]);
    expect(await store.numQueued()).to.equal(1);
    clock.advance(1);
    const later = wireTask({}, clock.ms);
    expect(await store.queue([later], { idempotencyKeys: ['k'], ...window })).to.deep.equal([later.id]);
    // Tasks without a key, and null keys, are never deduplicated.
    const [a, b] = [wireTask({}, clock.ms), wireTask({}, clock.ms)];
    expect(await store.queue([a, b], { idempotencyKeys: [null, null] })).to.deep.equal([a.id, b.id]);
    expect(await store.numQueued()).to.equal(4);
  });

  it('stores a task resent with the same id once', async () => {
    const task = wireTask({}, clock.ms);
    expect(await store.queue([task])).to.deep.equal([task.id]);
    expect(await store.queue([{ ...task, kwargs: { a: 100 } }])).to.deep.equal([task.id]);
    expect(await store.numQueued()).to.equal(1);
    expect((await store.get([task.id]))[0]?.kwargs).to.deep.equal({ a: 1, b: 2 });
  });

  it('refuses idempotency keys that do not match the tasks, and a window that is not a duration', async () => {
    await refused(() => store.queue([wireTask()], { idempotencyKeys: ['a', 'b'] }), /^idempotencyKeys must have one entry per task/);
    await refused(() => store.queue([wireTask()], { idempotencyWindowMs: 0 }), /^idempotencyWindowMs must be a positive number/);
    expect(await store.numQueued()).to.equal(0);
  });

  it('claims a periodic run and queues its task in one step; a lost claim queues nothing', async () => {
    const run = wireTask({ name: 'testperiodic', lock_id: 'periodic-lock' }, clock.ms);
    expect(await store.claimRun('testperiodic', null, 1000, run)).to.equal(run.id);
    const twin = wireTask({ name: 'testperiodic', lock_id: 'periodic-lock' }, clock.ms);
    expect(await store.claimRun('testperiodic', null, 1000, twin)).to.equal(false);
    expect(await store.get([twin.id])).to.deep.equal([null]);
    // The next run is claimed, but its lock is held by the first run: null, and claimed all the same.
    const next = wireTask({ name: 'testperiodic', lock_id: 'periodic-lock' }, clock.ms);
    expect(await store.claimRun('testperiodic', 1000, 2000, next)).to.equal(null);
    expect(await store.lastRuns()).to.deep.equal({ testperiodic: 2000 });
    expect((await store.get([run.id]))[0]?.status).to.equal(QUEUED);
    expect(await store.numQueued()).to.equal(1);
  });

  it('purges ready tasks by age on its clock and by state, oldest first, never a waiting or running one', async () => {
    const tasks = Array.from({ length: 6 }, () => wireTask({}, clock.ms));
    await store.queue(tasks);
    const deliveries = await store.pull({ worker: 'w', max: 4, leaseMs: 600_000, waitMs: 0 });
    const end = async (d: Delivery, status: TaskStatus) => {
      const fence = { worker: 'w', token: d.token };
      await store.start({ ...d.task, status: STARTED }, fence);
      await store.finish({ ...d.task, status, time_ended: clock.ms / 1000 }, fence);
      clock.advance(1000);
    };
    await end(deliveries[0] as Delivery, SUCCESS);
    await end(deliveries[1] as Delivery, FAILURE);
    await end(deliveries[2] as Delivery, SUCCESS);
    expect(await store.revoke((tasks[5] as { id: string }).id)).to.equal(true);
    // Ended 3 s, 2 s, 1 s and 0 s ago; one task still running, one waiting.
    expect(await store.purge(1500, 10, [SUCCESS])).to.equal(1);
    expect(await store.get([deliveries[0]!.task.id])).to.deep.equal([null]);
    expect(await store.purge(0, 1)).to.equal(1);
    expect(await store.get([deliveries[1]!.task.id]), 'the oldest first').to.deep.equal([null]);
    expect(await store.purge(0, 10, [REVOKED, SUCCESS])).to.equal(2);
    expect(await store.purge(0, 10)).to.equal(0);
    const left = (await store.list({}, { limit: 10, cursor: null })).tasks.map((t) => t.id);
    expect(left.sort()).to.deep.equal([deliveries[3]!.task.id, (tasks[4] as { id: string }).id].sort());
  });

  it('refuses a purge of states that are not ready, a negative age or limit', async () => {
    await refused(() => store.purge(0, 10, [QUEUED]), /^purge statuses must be SUCCESS, FAILURE or REVOKED, got QUEUED/);
    await refused(() => store.purge(-1, 10), /^purge olderThanMs must be/);
    await refused(() => store.purge(0, -1), /^purge limit must be/);
  });

  it('refuses a pull, renewal, recovery or claim with bad numbers, and keys that are not strings', async () => {
    const pull = { worker: 'w', max: 1, leaseMs: 1000, waitMs: 0 };
    await refused(() => store.pull({ ...pull, max: 0 }), /^pull max must be an integer >= 1/);
    await refused(() => store.pull({ ...pull, leaseMs: 0 }), /^pull leaseMs must be a positive number/);
    await refused(() => store.pull({ ...pull, waitMs: -1 }), /^pull waitMs must be/);
    await refused(() => store.pull({ ...pull, worker: '' }), /^pull needs a worker id/);
    await refused(() => store.renew('w', [], Number.NaN), /^renew leaseMs must be/);
    await refused(() => store.recover({ maxRedeliveries: -1 }), /^recover maxRedeliveries must be/);
    await refused(() => store.queue([wireTask()], { idempotencyKeys: [''] }), /^an idempotency key must be a non-empty string/);
    await refused(() => store.claimRun('testperiodic', null, Number.NaN, wireTask()), /^claimRun ranAtMs must be epoch milliseconds/);
    expect(await store.lastRuns(), 'nothing claimed').to.deep.equal({});
    expect(await store.numQueued()).to.equal(0);
  });

  it('refuses to finish a task that is not in a ready state', async () => {
    await store.queue([wireTask({}, clock.ms)]);
    const [d] = (await store.pull({ worker: 'w', max: 1, leaseMs: 600_000, waitMs: 0 })) as Delivery[];
    await refused(() => store.finish({ ...d!.task, status: STARTED }, { worker: 'w', token: d!.token }), /^finish needs a task in a ready state/);
  });
});
