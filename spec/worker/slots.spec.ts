/**
 * The worker runtime's slots: a run gives its slot back once its job ended, before its outcome is
 * saved, so the next pull goes out right behind the outcomes; but the runs still writing their
 * outcome are bounded (one backlog of them), so a store that answers pulls and never outcomes does
 * not make deliveries pile up. Driven with a MemoryStore whose finish answers only when told to.
 */
import { expect } from 'chai';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { Job } from '../../src/job/job.js';
import { JobRegistry } from '../../src/job/registry.js';
import type { JsonObject } from '../../src/model/json.js';
import { SUCCESS } from '../../src/model/states.js';
import type { WireTask } from '../../src/model/task.js';
import { TaskBackend } from '../../src/producer/backend.js';
import type { Delivery, Fence, PullRequest } from '../../src/store/contract.js';
import type { TaskConsumer } from '../../src/worker/consumer.js';
import { startWorker } from '../../src/worker/worker-runtime.js';

class Quick extends Job {
  override name = 'quick';
  run(_consumer: TaskConsumer, kwargs: JsonObject): number {
    return Number(kwargs.n);
  }
}

/** Saves finishes at once but answers them only once `answerFinishes()` is called; counts what it hands out. */
class HeldFinishStore extends MemoryStore {
  pulled = 0;
  private readonly held: (() => void)[] = [];

  override async finish(task: WireTask, fence: Fence): Promise<boolean> {
    const saved = await super.finish(task, fence);
    await new Promise<void>((resolve) => this.held.push(resolve));
    return saved;
  }

  override async pull(request: PullRequest): Promise<Delivery[]> {
    const deliveries = await super.pull(request);
    this.pulled += deliveries.length;
    return deliveries;
  }

  get finishesHeld(): number {
    return this.held.length;
  }

  answerFinishes(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }

  /** Resolves once `n` finishes wait for their answer. */
  async finishesWaiting(n: number): Promise<void> {
    while (this.held.length < n) await new Promise((r) => setTimeout(r, 5));
  }
}

describe('worker runtime: slots', () => {
  it('pulls again while outcomes are on their way, but keeps at most one backlog of runs writing them', async () => {
    const registry = new JobRegistry();
    registry.register(Quick);
    const store = new HeldFinishStore('slots');
    const backend = new TaskBackend(store, { name: 'slots', url: 'local://', registry, pollTimeout: 1, concurrentTasks: 3 });
    try {
      const ids = (await backend.queueTasks(Array.from({ length: 10 }, (_, n) => ({ jobName: 'quick', kwargs: { n } })))) as string[];
      startWorker(backend, { id: 'w1', concurrency: 'inline', pid: process.pid });
      // 3 slots: the first 3 jobs end and their outcomes wait; their slots went back, so 3 more
      // were pulled and ran; then no more: 6 runs (2 backlogs) are writing their outcome.
      await store.finishesWaiting(6);
      // An in-process store answers a pull within a few turns of the event loop: give it many.
      for (let turn = 0; turn < 100; turn++) await new Promise((r) => setImmediate(r));
      expect(store.finishesHeld, 'outcomes waiting').to.equal(6);
      expect(store.pulled, 'deliveries while outcomes wait').to.equal(6);
      // Once the store answers, the rest runs.
      while ((await backend.getTasks()).filter((t) => t.status === SUCCESS).length < 10) {
        store.answerFinishes();
        await new Promise((r) => setTimeout(r, 10));
      }
      for (const [n, id] of ids.entries()) expect((await backend.getTask(id))?.result).to.equal(n);
    } finally {
      store.answerFinishes();
      await backend.close(1);
    }
  });
});
