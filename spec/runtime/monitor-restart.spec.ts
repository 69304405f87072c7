/**
 * One-for-one supervision inside the tree: a monitor whose own code fails (here a user hook) is
 * restarted by the arbiter, and no task queued before is lost (local:// stores belong to the
 * arbiter; redis:// keeps them anyway).
 */
import { expect } from 'chai';
import { Arbiter } from '../../actors/arbiter.js';
import { SUCCESS } from '../../src/model/states.js';
import { TaskQueue } from '../../src/app/taskqueue.js';
import { dropNamespace, redisAvailable, specUrl } from '../redis/redis-env.js';
import { TASK_PATHS } from '../support/runtime.js';

describe('an arbiter restarting a crashed monitor', function () {
  this.timeout(90_000);
  let arbiter: Arbiter | undefined;
  afterEach(async () => {
    await arbiter?.stop();
    arbiter = undefined;
  });
  after(() => dropNamespace());

  for (const scheme of ['local', 'redis'] as const) {
    it(`restarts the monitor whose monitorTask hook throws once, and every task queued before ends SUCCESS (${scheme}://)`, async function () {
      if (scheme === 'redis' && !(await redisAvailable())) this.skip();
      let fail = false;
      const name = `hook-${scheme}-${Math.random().toString(36).slice(2, 6)}`;
      arbiter = new Arbiter({ handleSignals: false });
      const tq = arbiter.add(
        new TaskQueue({
          name,
          taskPaths: TASK_PATHS,
          taskBackend: scheme === 'local' ? 'local://' : specUrl(),
          workers: 1,
          concurrency: 'inline',
          concurrentTasks: 2,
          leaseTimeout: 1,
          shutdownGrace: 0.2,
          monitorTask: () => {
            if (!fail) return;
            fail = false;
            throw new Error('hook exploded');
          },
        }),
      );
      await arbiter.start();
      const restarting = new Promise<Error>((resolve) => arbiter!.once('app_restarting', (_name: string, error: Error) => resolve(error)));
      const restarted = new Promise<void>((resolve) => arbiter!.once('app_restarted', () => resolve()));
      const ids = (await tq.backend.queueTasks(Array.from({ length: 10 }, () => ({ jobName: 'asynchronous', kwargs: { lag: 0.4 } })))) as string[];
      fail = true;
      const error = await restarting;
      expect(error.name).to.equal('MonitorCrashed');
      expect(error.message).to.contain('hook exploded');
      await restarted;
      const tasks = await Promise.all(ids.map((id) => tq.backend.waitForTask(id, 60)));
      expect(tasks.map((t) => t?.status)).to.deep.equal(Array(10).fill(SUCCESS));
    });
  }

  it('restarts the monitor whose own mailbox handler fails (a workerStart hook throwing once), and the queue runs tasks after', async () => {
    let throws = 1;
    arbiter = new Arbiter({ handleSignals: false });
    const tq = arbiter.add(
      new TaskQueue({
        name: 'hook-worker-start',
        taskPaths: TASK_PATHS,
        concurrency: 'thread',
        workerStart: () => {
          if (throws-- > 0) throw new Error('workerStart exploded');
        },
      }),
    );
    const restarting = new Promise<Error>((resolve) => arbiter!.once('app_restarting', (_name: string, error: Error) => resolve(error)));
    const restarted = new Promise<void>((resolve) => arbiter!.once('app_restarted', () => resolve()));
    await arbiter.start();
    const error = await restarting;
    expect(error.name).to.equal('MonitorCrashed');
    expect(error.message).to.contain('on a worker_ready message').and.contain('workerStart exploded');
    await restarted;
    const id = (await tq.backend.queueTask('addition', { a: 3, b: 4 })) as string;
    expect((await tq.backend.waitForTask(id, 60))?.result).to.equal(7);
  });
});
