/**
 * The LocalStore actor's MemoryStore keeps the objects it is given and gives out its own
 * (shareObjects): its in-process client must copy, so that nothing a caller holds is shared
 * with the store.
 */
import { expect } from 'chai';
import { localStoreClient, spawnLocalStore } from '../../actors/local-store.js';
import { startSystem, stopActor, type AnyRef } from '../../actors/refs.js';
import { STARTED } from '../../src/model/states.js';
import type { TaskStore } from '../../src/store/contract.js';
import type { WireTask } from '../../src/model/task.js';
import { wireTask as sharedWireTask } from '../support/wire-task.js';

const wireTask = (id: string): WireTask => sharedWireTask({ id, kwargs: { a: 1, b: 2 } });

describe('the LocalStore actor and its in-process client', () => {
  let system: AnyRef;
  let store: TaskStore;
  let close: () => Promise<void>;

  beforeEach(() => {
    system = startSystem(`local-store-spec-${Math.random().toString(36).slice(2, 8)}`);
    const handle = spawnLocalStore(system, 'app');
    close = handle.close;
    store = localStoreClient(handle.ref, system);
  });

  afterEach(async () => {
    await store.close();
    await close();
    stopActor(system);
  });

  it('keeps what was queued or started as it was sent, whatever the caller does to its objects after', async () => {
    const task = wireTask('t1');
    await store.queue([task]);
    task.kwargs.a = 100;
    const [pulled] = await store.pull({ worker: 'w', max: 1, leaseMs: 30_000, waitMs: 0 });
    expect(pulled?.task.kwargs).to.deep.equal({ a: 1, b: 2 });
    const started: WireTask = { ...(pulled?.task as WireTask), status: STARTED, worker: 'w', meta: { note: 'before' } };
    expect(await store.start(started, { worker: 'w', token: pulled?.token as number })).to.equal(true);
    started.meta.note = 'after';
    const [stored] = await store.get(['t1']);
    expect(stored?.meta).to.deep.equal({ note: 'before' });
  });

  it('gives out copies: changing a task it got changes nothing in the store', async () => {
    await store.queue([wireTask('t2')]);
    const [got] = await store.get(['t2']);
    (got as WireTask).kwargs.a = 100;
    const [listed] = (await store.list({ ids: ['t2'] }, { limit: 10, cursor: null })).tasks;
    (listed as WireTask).meta.x = 1;
    const [pulled] = await store.pull({ worker: 'w', max: 1, leaseMs: 30_000, waitMs: 0 });
    (pulled?.task as WireTask).kwargs.b = 200;
    const [again] = await store.get(['t2']);
    expect(again?.kwargs).to.deep.equal({ a: 1, b: 2 });
    expect(again?.meta).to.deep.equal({});
  });

  it('keeps a progress value as it was sent', async () => {
    await store.queue([wireTask('t3')]);
    const value = { done: 1 };
    await store.progress('t3', value);
    value.done = 2;
    const [got] = await store.get(['t3']);
    expect(got?.meta).to.deep.equal({ progress: { done: 1 } });
  });
});
