/**
 * A worker that loses its task to another delivery says so: `task_lost`, a WARN line, and a count
 * in the monitor's `info` (per worker and for the queue), in every worker mode.
 */
import { expect } from 'chai';
import type { Arbiter } from '../../actors/arbiter.js';
import type { TaskQueue } from '../../src/app/taskqueue.js';
import { STARTED, SUCCESS } from '../../src/model/states.js';
import { eventually, MODES, startQueue } from '../support/runtime.js';

type Info = { apps: Record<string, { lost: number; workers: { id: string; lost: number }[] }> };

describe('a worker that lost its task to another delivery', function () {
  this.timeout(90_000);
  let arbiter: Arbiter | undefined;
  afterEach(async () => {
    await arbiter?.stop();
    arbiter = undefined;
  });

  for (const mode of MODES) {
    it(`counts it in info (${mode} workers), and the other delivery's result is kept`, async () => {
      let tq: TaskQueue;
      const name = `lost-${mode}`;
      ({ arbiter, tq } = await startQueue({ name, workers: 1, concurrency: mode, concurrentTasks: 1, leaseTimeout: 60 }));
      const id = (await tq.backend.queueTask('asynchronous', { lag: 1.5 })) as string;
      const task = await eventually(async () => {
        const t = await tq.backend.getTask(id);
        return t?.status === STARTED ? t : null;
      }, 'the task to start');
      const store = tq.backend.store;
      // Its worker is taken for dead: the task is recovered and another worker takes it.
      expect((await store.recover({ maxRedeliveries: 5, worker: task.worker as string })).requeued).to.deep.equal([id]);
      const [taken] = await store.pull({ worker: 'thief', max: 1, leaseMs: 60_000, waitMs: 0 });
      expect(taken?.task.id).to.equal(id);
      const info = await eventually(async () => {
        const i = ((await arbiter!.info()) as Info).apps[name];
        return i && i.lost >= 1 ? i : null;
      }, 'info to count the lost task');
      expect(info.workers[0]?.lost).to.equal(1);
      const fence = { worker: 'thief', token: taken!.token };
      expect(await store.finish({ ...taken!.task, status: SUCCESS, result: 'thief', time_ended: Date.now() / 1000 }, fence)).to.equal(true);
      expect((await tq.backend.getTask(id))?.result, "the first run's outcome was fenced off").to.equal('thief');
    });
  }
});
