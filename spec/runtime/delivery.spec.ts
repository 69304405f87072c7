/**
 * Only what ran is charged: a worker killed by one of its jobs hands the tasks it had pulled but
 * not started back to the queue uncharged, end to end through the Worker actor and the monitor.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Arbiter } from '../../actors/arbiter.js';
import { FAILURE, SUCCESS } from '../../src/model/states.js';
import type { TaskQueue } from '../../src/app/taskqueue.js';
import { eventually, startQueue } from '../support/runtime.js';

type Info = { apps: Record<string, { workers: { id: string; pid: number | null }[] }> };

describe('delivery through the actor tree', function () {
  this.timeout(90_000);
  let arbiter: Arbiter | undefined;
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pulsar-tasks-delivery-'));
  });
  afterEach(async () => {
    await arbiter?.stop();
    arbiter = undefined;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a job that SIGKILLs its own worker once takes none of the 4 tasks pulled with it down: all end SUCCESS, the job charged', async () => {
    let tq: TaskQueue;
    ({ arbiter, tq } = await startQueue({ name: 'selfkill', workers: 1, concurrency: 'process', concurrentTasks: 5, maxRedeliveries: 1 }));
    await eventually(async () => ((await arbiter!.info()) as Info).apps.selfkill?.workers[0]?.pid, 'the worker to be ready');
    const marker = path.join(dir, 'selfkill-marker');
    const ids = (await tq.backend.queueTasks([
      { jobName: 'selfkill', kwargs: { marker }, options: { priority: 10 } },
      ...Array.from({ length: 4 }, () => ({ jobName: 'asynchronous', kwargs: { lag: 0.3 } })),
    ])) as string[];
    const tasks = await Promise.all(ids.slice(1).map((id) => tq.backend.waitForTask(id, 60)));
    expect(existsSync(marker), 'the worker was killed by its job').to.equal(true);
    expect(tasks.map((t) => t?.status)).to.deep.equal(Array(4).fill(SUCCESS));
    expect(tasks.map((t) => t?.retries)).to.deep.equal([0, 0, 0, 0]);
    // The job that killed its worker had started: its start is recorded before it runs, so it is
    // charged the redelivery (a poison task must not be handed back uncharged for ever).
    const poison = await tq.backend.waitForTask(ids[0] as string, 60);
    expect(poison?.status).to.equal(SUCCESS);
    expect(poison?.result).to.equal('survived');
    expect(poison?.redeliveries).to.equal(1);
  });

  it('a job that kills its worker at once, every time, ends FAILURE (worker lost) instead of crashing workers for ever', async () => {
    let tq: TaskQueue;
    ({ arbiter, tq } = await startQueue({ name: 'poison', workers: 1, concurrency: 'process', maxRedeliveries: 1 }));
    const id = (await tq.backend.queueTask('selfkill', { marker: path.join(dir, 'never'), always: true })) as string;
    const task = await tq.backend.waitForTask(id, 60);
    expect(task?.status).to.equal(FAILURE);
    expect(String(task?.result)).to.match(/worker lost/);
    expect(task?.redeliveries).to.equal(1);
  });
});
