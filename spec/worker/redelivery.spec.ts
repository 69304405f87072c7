/**
 * The worker runtime when a task it is still finishing comes straight back to it: the new delivery
 * must run, not be folded into the run that is ending. Driven deterministically with a store whose
 * retry answers only after the next pull handed the same task out again.
 */
import { expect } from 'chai';
import { Duration } from 'luxon';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { Job } from '../../src/job/job.js';
import { JobRegistry } from '../../src/job/registry.js';
import type { JsonObject } from '../../src/model/json.js';
import { STARTED, SUCCESS } from '../../src/model/states.js';
import type { WireTask } from '../../src/model/task.js';
import { TaskBackend } from '../../src/producer/backend.js';
import type { Delivery, Fence, PullRequest } from '../../src/store/contract.js';
import type { TaskConsumer } from '../../src/worker/consumer.js';
import { startWorker } from '../../src/worker/worker-runtime.js';

class FailsOnce extends Job {
  override name = 'failsonce';
  run(consumer: TaskConsumer, _kwargs: JsonObject): string {
    if (consumer.task.retries === 0) throw new Error('first attempt fails');
    return `attempt ${consumer.task.retries + 1}`;
  }
}

/** A MemoryStore whose retry answers once a later pull handed the retried task out again. */
class SlowRetryStore extends MemoryStore {
  private pending: { id: string; release: () => void } | null = null;

  override async retry(task: WireTask, fence: Fence): Promise<boolean> {
    const saved = await super.retry(task, fence);
    await new Promise<void>((release) => (this.pending = { id: task.id, release }));
    return saved;
  }

  override async pull(request: PullRequest): Promise<Delivery[]> {
    const deliveries = await super.pull(request);
    const pending = this.pending;
    if (pending && deliveries.some((d) => d.task.id === pending.id)) {
      this.pending = null;
      // The reply to the retry arrives after this pull's, as a slow connection could order them.
      setTimeout(pending.release, 20);
    }
    return deliveries;
  }
}

describe('worker runtime: a task that comes straight back while its run ends', () => {
  it('runs the new delivery once the ending run settled, instead of folding it into that run', async () => {
    const registry = new JobRegistry();
    registry.register(FailsOnce);
    const store = new SlowRetryStore('redelivery');
    const backend = new TaskBackend(store, { name: 'redelivery', url: 'local://', registry, pollTimeout: 1 });
    try {
      startWorker(backend, { id: 'w1', concurrency: 'inline', pid: process.pid });
      const id = (await backend.queueTask('failsonce', {}, { maxRetries: 1, retryDelay: 0 })) as string;
      const task = await backend.waitForTask(id, 20);
      expect(task?.status).to.equal(SUCCESS);
      expect(task?.result).to.equal('attempt 2');
    } finally {
      await backend.close(1);
    }
  });

  it('names in `settled` the token its `run` named, though a re-delivery was adopted meanwhile (the parent times runs by it)', async () => {
    const registry = new JobRegistry();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    class Held extends Job {
      override name = 'held';
      override timeout = Duration.fromObject({ seconds: 60 });
      async run(): Promise<string> {
        await held;
        return 'done';
      }
    }
    registry.register(Held);
    const store = new MemoryStore('adopted');
    const backend = new TaskBackend(store, { name: 'adopted', url: 'local://', registry, pollTimeout: 1, concurrentTasks: 2 });
    try {
      const runtime = startWorker(backend, { id: 'w1', concurrency: 'inline', pid: process.pid });
      const runs: [string, number][] = [];
      const settled: [string, number][] = [];
      runtime.on('run', (info: { id: string; token: number }) => runs.push([info.id, info.token]));
      runtime.on('settled', (id: string, token: number) => settled.push([id, token]));
      const id = (await backend.queueTask('held')) as string;
      while ((await backend.getTask(id))?.status !== STARTED) await new Promise((r) => setTimeout(r, 10));
      // Taken for dead and delivered again to the same worker: the running job adopts the delivery.
      expect((await store.recover({ maxRedeliveries: 5, worker: 'w1' })).requeued).to.deep.equal([id]);
      while ((await backend.getTask(id))?.status !== STARTED) await new Promise((r) => setTimeout(r, 10));
      release();
      expect((await backend.waitForTask(id, 20))?.status).to.equal(SUCCESS);
      while (!settled.length) await new Promise((r) => setTimeout(r, 10));
      expect(runs).to.have.length(1);
      expect(settled).to.deep.equal(runs);
    } finally {
      await backend.close(1);
    }
  });
});
