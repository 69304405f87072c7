/**
 * The LocalStore actor on contract v2: its MemoryStore's clock is the one clock of local://
 * (injectable for specs), and what its in-process client hands over is copied, a periodic run's
 * task included, so no caller shares an object with the store (shareObjects).
 */
import { expect } from 'chai';
import { localStoreClient, spawnLocalStore } from '../../actors/local-store.js';
import { startSystem, stopActor, type AnyRef } from '../../actors/refs.js';
import type { TaskEvent, TaskStore } from '../../src/store/contract.js';
import type { WireTask } from '../../src/model/task.js';
import { STARTED, SUCCESS } from '../../src/model/states.js';
import { ManualClock, wireTask } from './memory-support.js';

describe('the LocalStore actor on contract v2', () => {
  let system: AnyRef;
  let store: TaskStore;
  let close: () => Promise<void>;
  let clock: ManualClock;

  beforeEach(() => {
    clock = new ManualClock(Date.now() + 5 * 60_000);
    system = startSystem(`local-store-v2-${Math.random().toString(36).slice(2, 8)}`);
    const handle = spawnLocalStore(system, 'app', { clock: clock.now });
    close = handle.close;
    store = localStoreClient(handle.ref, system);
  });

  afterEach(async () => {
    await store.close();
    await close();
    stopActor(system);
  });

  it("answers now() and leases on the store's clock, through its mailbox", async () => {
    expect(await store.now()).to.equal(clock.ms);
    const task = wireTask();
    await store.queue([task]);
    expect((await store.get([task.id]))[0]?.time_queued).to.equal(clock.ms / 1000);
    const [d] = await store.pull({ worker: 'w', max: 1, leaseMs: 1000, waitMs: 0 });
    expect(await store.recover({ maxRedeliveries: 1 })).to.deep.equal({ requeued: [], failed: [], returned: [] });
    clock.advance(1001);
    expect(await store.recover({ maxRedeliveries: 1 })).to.deep.equal({ requeued: [], failed: [], returned: [d?.task.id] });
  });

  it("keeps a periodic run's task as it was sent, whatever the caller does to it after", async () => {
    const task = wireTask({ name: 'testperiodic' });
    expect(await store.claimRun('testperiodic', null, clock.ms, task)).to.equal(task.id);
    task.kwargs.a = 100;
    expect((await store.get([task.id]))[0]?.kwargs).to.deep.equal({ a: 1, b: 2 });
  });

  it('sends a client only the events it asked for, and the others again once it asks for them', async () => {
    const client = store as TaskStore & { wantEvents(events: readonly TaskEvent[] | null): void };
    const seen: string[] = [];
    let onDone: (() => void) | null = null;
    await client.subscribe((event, id) => {
      seen.push(`${event} ${id}`);
      if (event === 'task_done') onDone?.();
    });
    const run = async (id: string) => {
      const done = new Promise<void>((resolve) => (onDone = resolve));
      await store.queue([wireTask({ id })]);
      const [d] = await store.pull({ worker: 'w', max: 1, leaseMs: 10_000, waitMs: 0 });
      const fence = { worker: 'w', token: d?.token ?? 0 };
      await store.start({ ...(d?.task as WireTask), status: STARTED, worker: 'w' }, fence);
      await store.finish({ ...(d?.task as WireTask), status: SUCCESS, worker: 'w', result: 1, time_ended: clock.ms / 1000 }, fence);
      await done;
    };
    client.wantEvents(['task_done']);
    await run('first');
    expect(seen).to.deep.equal(['task_done first']);
    client.wantEvents(['task_started', 'task_done']);
    await run('second');
    expect(seen).to.deep.equal(['task_done first', 'task_started second', 'task_done second']);
    client.wantEvents(null);
    await run('third');
    expect(seen.slice(3)).to.deep.equal(['task_queued third', 'task_started third', 'task_done third']);
  });
});
