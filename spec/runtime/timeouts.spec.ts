/**
 * Timeouts enforced from outside the job: a job that blocks its worker's event loop cannot honour
 * its abort signal, so the parent kills a process or thread worker at timeout + stuckGrace, ends
 * the task REVOKED, hands the worker's other tasks back at once and replaces it. An inline worker
 * cannot be killed: it says so (an ERROR line and a `task_stuck` event).
 */
import { expect } from 'chai';
import type { Arbiter } from '../../actors/arbiter.js';
import { timeoutMessage } from '../../src/store/contract.js';
import { REVOKED, SUCCESS } from '../../src/model/states.js';
import type { TaskQueue } from '../../src/app/taskqueue.js';
import { alive, eventually, startQueue } from '../support/runtime.js';

type Info = { apps: Record<string, { workers: { id: string; pid: number; thread: number | null }[]; restarts: number }> };

describe('timeouts enforced from outside the job', function () {
  this.timeout(90_000);
  let arbiter: Arbiter | undefined;
  afterEach(async () => {
    await arbiter?.stop();
    arbiter = undefined;
  });

  const workersOf = async (name: string) => ((await arbiter!.info()) as Info).apps[name]?.workers ?? [];

  for (const concurrency of ['process', 'thread'] as const) {
    it(`kills a ${concurrency} worker whose job spins past timeout + stuckGrace: REVOKED in time, worker replaced, its other tasks SUCCESS soon after`, async () => {
      const name = `spin-${concurrency}`;
      let tq: TaskQueue;
      ({ arbiter, tq } = await startQueue({ name, workers: 1, concurrency, concurrentTasks: 5, stuckGrace: 1 }));
      const [first] = await eventually(async () => {
        const workers = await workersOf(name);
        return workers.length === 1 && workers[0]?.pid ? workers : undefined;
      }, 'the first worker');
      const queuedAt = Date.now();
      const ids = (await tq.backend.queueTasks([
        { jobName: 'busy', kwargs: { seconds: 60 }, options: { timeout: 1 } },
        ...Array.from({ length: 4 }, () => ({ jobName: 'asynchronous', kwargs: { lag: 0.2 } })),
      ])) as string[];
      const [spin, ...siblings] = ids as [string, ...string[]];
      const revoked = await tq.backend.waitForTask(spin, 30);
      const revokedAt = Date.now();
      expect(revoked?.status).to.equal(REVOKED);
      expect(revoked?.result).to.equal(timeoutMessage(1));
      expect(revokedAt - queuedAt, 'ms from queueing to REVOKED (timeout 1 s + stuckGrace 1 s + 3 s)').to.be.below(5000);
      const done = await Promise.all(siblings.map((id) => tq.backend.waitForTask(id, 30)));
      expect(done.map((t) => t?.status)).to.deep.equal(Array(4).fill(SUCCESS));
      expect(Date.now() - revokedAt, 'ms from REVOKED to the siblings all SUCCESS').to.be.below(5000);
      expect(done.map((t) => t?.redeliveries), 'siblings handed back without a charge').to.deep.equal([0, 0, 0, 0]);
      const replacement = await eventually(async () => {
        const workers = await workersOf(name);
        return workers.length === 1 && workers[0]?.id !== first?.id ? workers[0] : undefined;
      }, 'a replacement worker');
      expect(replacement.id).to.not.equal(first?.id);
      expect(((await arbiter.info()) as Info).apps[name]?.restarts, 'a timeout kill is not a crash').to.equal(0);
      if (concurrency === 'process') expect(alive(first?.pid as number)).to.equal(false);
    });
  }

  it('says that an inline job ignores its timeout (task_stuck event), and its task still ends', async () => {
    let tq: TaskQueue;
    ({ arbiter, tq } = await startQueue({ name: 'stuck-inline', workers: 1, concurrency: 'inline', stuckGrace: 0.3 }));
    const stuck = new Promise<[string, string, string]>((resolve) => arbiter!.once('task_stuck', (...args: [string, string, string]) => resolve(args)));
    const id = (await tq.backend.queueTask('stubborn', { lag: 2 }, { timeout: 0.3 })) as string;
    const [name, workerId, taskId] = await stuck;
    expect(name).to.equal('stuck-inline');
    expect(workerId).to.match(/^stuck-inline-w/);
    expect(taskId).to.equal(id);
    const task = await tq.backend.waitForTask(id, 30);
    expect(task?.status).to.equal(REVOKED);
    expect(task?.result).to.equal(timeoutMessage(0.3));
  });
});
