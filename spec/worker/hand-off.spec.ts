/**
 * Tasks cross the local store's mailbox without copies (the runtime hands over what it writes and
 * reads what it pulls): whatever a job does to its kwargs, its task or the object it returned, the
 * stored task is the one the run reported.
 */
import { expect } from 'chai';
import { localStoreClient, spawnLocalStore } from '../../actors/local-store.js';
import { startSystem, stopActor, type AnyRef } from '../../actors/refs.js';
import { Job } from '../../src/job/job.js';
import { JobRegistry } from '../../src/job/registry.js';
import type { JsonObject } from '../../src/model/json.js';
import { SUCCESS } from '../../src/model/states.js';
import { TaskBackend } from '../../src/producer/backend.js';
import type { TaskConsumer } from '../../src/worker/consumer.js';
import { startWorker } from '../../src/worker/worker-runtime.js';

const kept: { value: { items: number[] } | null; storedDuringRun: JsonObject | null } = { value: null, storedDuringRun: null };

class Meddler extends Job {
  override name = 'meddler';
  async run(consumer: TaskConsumer, kwargs: JsonObject): Promise<{ items: number[] }> {
    kwargs.a = 'changed argument';
    consumer.task.kwargs.b = 'changed task';
    consumer.task.meta.note = 'changed meta';
    kept.storedDuringRun = (await consumer.backend.getTask(consumer.taskId))?.kwargs ?? null;
    const result = { items: [1] };
    kept.value = result;
    // Changed once the run returned, while its outcome is on its way to the store.
    setImmediate(() => result.items.push(2));
    return result;
  }
}

const late: { consumer: TaskConsumer | null } = { consumer: null };

/** Keeps its consumer and reports progress once its run is over (a stray timer, say). */
class Straggler extends Job {
  override name = 'straggler';
  run(consumer: TaskConsumer): number {
    late.consumer = consumer;
    return 7;
  }
}

describe('worker runtime over the local store: hand-off without copies', () => {
  let system: AnyRef;
  let backend: TaskBackend;
  let closeStore: () => Promise<void>;

  beforeEach(() => {
    system = startSystem(`hand-off-spec-${Math.random().toString(36).slice(2, 8)}`);
    const handle = spawnLocalStore(system, 'app');
    closeStore = handle.close;
    const registry = new JobRegistry();
    registry.register(Meddler);
    registry.register(Straggler);
    backend = new TaskBackend(localStoreClient(handle.ref, system), { name: 'app', url: 'local://', registry });
  });

  afterEach(async () => {
    await backend.close(1);
    await closeStore();
    stopActor(system);
  });

  it('shares nothing between a job and the store: the stored task changes only by what the run reports', async () => {
    const kwargs = { a: 1, b: 2 };
    const id = (await backend.queueTask('meddler', kwargs, { metaParams: { note: 'queued' } })) as string;
    kwargs.a = 100;
    startWorker(backend, { id: 'w1', concurrency: 'inline', pid: process.pid });
    const task = await backend.waitForTask(id, 30);
    expect(task?.status).to.equal(SUCCESS);
    expect(kept.storedDuringRun, 'stored while the job ran').to.deep.equal({ a: 1, b: 2 });
    // The task a job changes is the one its run reports (as before): not its kwargs argument.
    expect(task?.kwargs).to.deep.equal({ a: 1, b: 'changed task' });
    expect(task?.meta).to.deep.equal({ note: 'changed meta' });
    expect(task?.result).to.deep.equal({ items: [1] });
    expect(kept.value?.items, 'the job did change its own object').to.deep.equal([1, 2]);
  });

  it("keeps a finished task as its run reported it: a progress sent after the run ended changes nothing stored", async () => {
    const id = (await backend.queueTask('straggler')) as string;
    startWorker(backend, { id: 'w1', concurrency: 'inline', pid: process.pid });
    const done = await backend.waitForTask(id, 30);
    expect(done?.status).to.equal(SUCCESS);
    await late.consumer?.progress({ step: 'late' });
    const stored = await backend.getTask(id);
    expect(stored?.meta).to.deep.equal({});
    expect(stored?.result).to.equal(7);
  });
});
