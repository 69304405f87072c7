/**
 * The LocalStore actor's MemoryStore keeps the objects it is given and gives out its own
 * (shareObjects). Its in-process client copies what reaches user code (get, list, progress
 * values); the worker runtime and the producer hand over what they pass (spec/worker/hand-off).
 */
import { expect } from 'chai';
import { localStoreClient, spawnLocalStore } from '../../actors/local-store.js';
import { startSystem, stopActor, type AnyRef } from '../../actors/refs.js';
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

  it('gives out copies of what it reads (get, list): changing them changes nothing in the store', async () => {
    await store.queue([wireTask('t2')]);
    const [got] = await store.get(['t2']);
    (got as WireTask).kwargs.a = 100;
    const [listed] = (await store.list({ ids: ['t2'] }, { limit: 10, cursor: null })).tasks;
    (listed as WireTask).meta.x = 1;
    const [again] = await store.get(['t2']);
    expect(again?.kwargs).to.deep.equal({ a: 1, b: 2 });
    expect(again?.meta).to.deep.equal({});
  });

  it('answers the calls of one turn together, each to its own caller, in the order they were made', async () => {
    await store.queue(['o1', 'o2', 'o3'].map(wireTask));
    const [deliveries, got, count] = await Promise.all([
      store.pull({ worker: 'w', max: 2, leaseMs: 30_000, waitMs: 0 }),
      store.get(['o3', 'nope']),
      store.numQueued(),
    ]);
    expect(deliveries.map((d) => d.task.id)).to.deep.equal(['o1', 'o2']);
    expect(got.map((t) => t?.id ?? null)).to.deep.equal(['o3', null]);
    expect(count, 'the pull ran first').to.equal(1);
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
