/**
 * The arbiter as a whole: several TaskQueues side by side, embedding under a user's nact actor,
 * hooks, clear start-up errors, and a stop that leaves nothing behind.
 */
import { expect } from 'chai';
import { spawn, start, stop } from 'nact';
import { Arbiter, spawnArbiter } from '../../actors/arbiter.js';
import { ImproperlyConfigured } from '../../src/model/errors.js';
import { SUCCESS } from '../../src/model/states.js';
import { TaskQueue, type WorkerView } from '../../src/app/taskqueue.js';
import { alive, eventually, MODES, TASK_PATHS } from '../support/runtime.js';

describe('an arbiter', function () {
  this.timeout(60_000);

  it('runs two TaskQueues that do not see each other\'s tasks', async () => {
    const arbiter = new Arbiter({ handleSignals: false });
    const one = arbiter.add(new TaskQueue({ name: 'one', taskPaths: TASK_PATHS, concurrency: 'inline' }));
    const two = arbiter.add(new TaskQueue({ name: 'two', taskPaths: TASK_PATHS, concurrency: 'thread' }));
    await arbiter.start();
    try {
      const seenByTwo: string[] = [];
      two.backend.on('task_queued', (id) => seenByTwo.push(id));
      await two.backend.ensureSubscribed();
      const a = (await one.backend.queueTask('addition', { a: 1, b: 1 })) as string;
      const b = (await two.backend.queueTask('addition', { a: 2, b: 2 })) as string;
      expect((await one.backend.waitForTask(a, 30))?.result).to.equal(2);
      expect((await two.backend.waitForTask(b, 30))?.result).to.equal(4);
      expect(await two.backend.getTask(a)).to.equal(null);
      expect(await one.backend.getTask(b)).to.equal(null);
      expect((await one.backend.getTasks()).map((t) => t.id)).to.deep.equal([a]);
      expect(seenByTwo).to.not.include(a);
      expect(one.backend.channel('task_done')).to.not.equal(two.backend.channel('task_done'));
    } finally {
      await arbiter.stop();
    }
  });

  it('refuses two applications with one name', () => {
    const arbiter = new Arbiter({ handleSignals: false });
    arbiter.add(new TaskQueue({ name: 'same' }));
    expect(() => arbiter.add(new TaskQueue({ name: 'same' }))).to.throw(ImproperlyConfigured, /same/);
  });

  it('rejects start() with the path when a task path does not load, leaving nothing running', async () => {
    const arbiter = new Arbiter({ handleSignals: false });
    arbiter.add(new TaskQueue({ name: 'broken', taskPaths: ['does/not/exist.ts'], concurrency: 'inline' }));
    let error: unknown;
    await arbiter.start().catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(ImproperlyConfigured);
    expect((error as Error).message).to.contain('does/not/exist.ts');
  });

  it('calls the hooks: monitorStart, workerStart, workerStopping', async () => {
    const calls: string[] = [];
    const arbiter = new Arbiter({ handleSignals: false });
    let started!: () => void;
    const workerUp = new Promise<void>((r) => (started = r));
    arbiter.add(
      new TaskQueue({
        name: 'hooks',
        taskPaths: TASK_PATHS,
        concurrency: 'inline',
        monitorStart: (m) => void calls.push(`monitorStart ${m.name}`),
        workerStart: (w: WorkerView) => {
          calls.push(`workerStart ${w.concurrency}`);
          started();
        },
        workerStopping: (w: WorkerView) => void calls.push(`workerStopping ${w.concurrency}`),
      }),
    );
    await arbiter.start();
    await workerUp;
    await arbiter.stop();
    expect(calls).to.deep.equal(['monitorStart hooks', 'workerStart inline', 'workerStopping inline']);
  });

  it('runs a task when spawned under a user\'s nact actor, and stops with its parent', async () => {
    const system = start();
    const parent = spawn(system, (state: number = 0) => state, 'user-app');
    const arbiter = spawnArbiter(parent, { apps: [new TaskQueue({ name: 'embedded', taskPaths: TASK_PATHS, concurrency: 'inline' })] });
    await arbiter.start();
    const tq = arbiter.taskQueue('embedded');
    const task = await tq.backend.waitForTask((await tq.backend.queueTask('addition', { a: 20, b: 22 })) as string, 30);
    expect(task?.status).to.equal(SUCCESS);
    expect(task?.result).to.equal(42);
    const stopped = new Promise<void>((resolve) => arbiter.once('stopped', resolve));
    stop(parent);
    await stopped;
    stop(system);
  });

  it('forgets finished tasks after resultTtl, from its tick, and keeps the unfinished', async () => {
    const arbiter = new Arbiter({ handleSignals: false });
    // A short lease makes the housekeeping tick frequent.
    const tq = arbiter.add(new TaskQueue({ name: 'ttl', taskPaths: TASK_PATHS, concurrency: 'inline', resultTtl: 0.3, leaseTimeout: 0.6 }));
    await arbiter.start();
    try {
      const done = (await tq.backend.queueTask('addition', { a: 1, b: 1 })) as string;
      const later = (await tq.backend.queueTask('addition', { a: 1, b: 1 }, { delay: 120 })) as string;
      expect((await tq.backend.waitForTask(done, 30))?.status).to.equal(SUCCESS);
      await eventually(async () => (await tq.backend.getTask(done)) === null, 'the finished task to be purged');
      expect(await tq.backend.getTask(later), 'a waiting task is kept').to.not.equal(null);
    } finally {
      await arbiter.stop();
    }
  });

  for (const concurrency of MODES) {
    it(`leaves no child process, thread, timer or socket behind after stop() (${concurrency})`, async () => {
      // Mocha arms its test timer once the test's first slice returned: count after it.
      await new Promise((r) => setImmediate(r));
      const before = resourceCounts();
      const arbiter = new Arbiter({ handleSignals: false });
      const tq = arbiter.add(new TaskQueue({ name: `clean-${concurrency}`, taskPaths: TASK_PATHS, workers: 2, concurrency, schedulePeriodic: true }));
      await arbiter.start();
      const ids = await tq.backend.queueTasks([1, 2, 3, 4].map((a) => ({ jobName: 'addition', kwargs: { a, b: 1 } })));
      await Promise.all(ids.map((id) => tq.backend.waitForTask(id as string, 30)));
      const info = (await arbiter.info()) as { apps: Record<string, { workers: { pid: number }[] }> };
      const pids = (info.apps[`clean-${concurrency}`]?.workers ?? []).map((w) => w.pid).filter((pid) => pid !== process.pid);
      await arbiter.stop();
      await new Promise((r) => setImmediate(r));
      for (const pid of pids) expect(alive(pid), `worker process ${pid}`).to.equal(false);
      const after = resourceCounts();
      for (const kind of ['Timeout', 'ProcessWrap', 'MessagePort', 'TCPWrap', 'PipeWrap']) {
        expect(after[kind] ?? 0, kind).to.be.at.most(before[kind] ?? 0);
      }
    });
  }
});

function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}
