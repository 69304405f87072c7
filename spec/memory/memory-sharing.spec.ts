/**
 * MemoryStore's copies: by default it copies what it keeps and what it gives out; with
 * shareObjects it keeps and gives out the very objects (its callers hand over and only read), and
 * still never changes a stored task in place, so what a caller holds stays as it was read.
 */
import { expect } from 'chai';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { STARTED, SUCCESS } from '../../src/model/states.js';
import type { Delivery } from '../../src/store/contract.js';
import type { WireTask } from '../../src/model/task.js';
import { wireTask } from './memory-support.js';

describe('MemoryStore copies', () => {
  const stores: MemoryStore[] = [];
  const open = (shareObjects: boolean) => {
    const store = new MemoryStore('sharing', { shareObjects });
    stores.push(store);
    return store;
  };

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  it('copies what it keeps and gives out by default', async () => {
    const store = open(false);
    const task = wireTask();
    await store.queue([task]);
    task.kwargs.a = 100;
    const [d] = (await store.pull({ worker: 'w', max: 1, leaseMs: 60_000, waitMs: 0 })) as Delivery[];
    const started = { ...d!.task, status: STARTED, meta: { note: 'start' } } as WireTask;
    expect(await store.start(started, { worker: 'w', token: d!.token })).to.equal(true);
    started.meta.note = 'changed';
    (d!.task.kwargs as { b: number }).b = 200;
    const [listed] = (await store.list({}, { limit: 10, cursor: null })).tasks;
    (listed as WireTask).meta.x = 1;
    const value = { done: 1 };
    expect(await store.progress(task.id, value, { worker: 'w', token: d!.token })).to.equal(true);
    value.done = 2;
    const [stored] = await store.get([task.id]);
    expect(stored?.kwargs).to.deep.equal({ a: 1, b: 2 });
    expect(stored?.meta).to.deep.equal({ note: 'start', progress: { done: 1 } });
  });

  it('shares objects with shareObjects, and replaces a stored task instead of changing it', async () => {
    const store = open(true);
    const task = wireTask();
    await store.queue([task]);
    const [d] = (await store.pull({ worker: 'w', max: 1, leaseMs: 60_000, waitMs: 0 })) as Delivery[];
    const [got] = await store.get([task.id]);
    expect(d!.task, 'the stored object itself').to.equal(got);
    const before = JSON.stringify(got);
    await store.progress(task.id, 0.5, { worker: 'w', token: d!.token });
    await store.finish({ ...d!.task, status: SUCCESS, result: 3, time_ended: Date.now() / 1000 }, { worker: 'w', token: d!.token });
    expect(JSON.stringify(got), 'what a reader holds did not change').to.equal(before);
    expect((await store.get([task.id]))[0]).to.include({ status: SUCCESS, result: 3 });
  });
});
