/**
 * Several arbiters sharing one Redis, as on several machines: tasks cross between them, events
 * reach all, and neither a killed worker nor a killed arbiter loses a task.
 */
import { expect } from 'chai';
import { Arbiter } from '../../actors/arbiter.js';
import type { TaskBackend } from '../../src/producer/backend.js';
import { createBackend } from '../../src/producer/create-backend.js';
import { QUEUED, STARTED, SUCCESS } from '../../src/model/states.js';
import { TaskQueue } from '../../src/app/taskqueue.js';
import { startArbiterProcess, type ArbiterProcess } from '../support/processes.js';
import { alive, eventually, nextEvent, TASK_PATHS } from '../support/runtime.js';
import { dropNamespace, redisAvailable, specUrl } from './redis-env.js';

describe('arbiters sharing one Redis', function () {
  this.timeout(120_000);
  const url = specUrl();
  let producer: TaskBackend | undefined;
  const processes: ArbiterProcess[] = [];
  const arbiters: Arbiter[] = [];

  before(async function () {
    if (!(await redisAvailable())) this.skip();
  });
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop()));
    await Promise.all(arbiters.splice(0).map((a) => a.stop()));
    await producer?.close();
    producer = undefined;
  });
  after(() => dropNamespace());

  it('runs tasks queued by one arbiter in another process, and events reach both', async () => {
    const name = `shared-${Date.now()}`;
    processes.push(await startArbiterProcess({ name, taskPaths: TASK_PATHS, taskBackend: url, workers: 2, concurrency: 'process' }));
    // Only the other arbiter consumes yet: once a task is done there, its workers pull.
    producer = await createBackend(url, { name, taskPaths: TASK_PATHS });
    const warmUp = await producer.waitForTask((await producer.queueTask('checkworker')) as string, 60);
    const otherPid = (warmUp?.result as { pid: number }).pid;
    expect(otherPid).to.not.equal(process.pid);
    const here = new Arbiter({ handleSignals: false });
    const local = here.add(new TaskQueue({ name, taskPaths: TASK_PATHS, taskBackend: url, workers: 1, concurrency: 'inline', concurrentTasks: 1 }));
    arbiters.push(here);
    await here.start();
    const doneHere: string[] = [];
    const doneThere: string[] = [];
    local.backend.on('task_done', (id) => doneHere.push(id));
    producer.on('task_done', (id) => doneThere.push(id));
    await Promise.all([local.backend.ensureSubscribed(), producer.ensureSubscribed()]);
    const ids = (await local.backend.queueTasks(Array.from({ length: 12 }, () => ({ jobName: 'asynchronous', kwargs: { lag: 0.2 } })))) as string[];
    const tasks = await Promise.all(ids.map((id) => producer!.waitForTask(id, 60)));
    expect(tasks.map((t) => t?.status)).to.deep.equal(Array(12).fill(SUCCESS));
    const workersHere = ((await here.info()) as { apps: Record<string, { workers: { id: string }[] }> }).apps[name]?.workers.map((w) => w.id) ?? [];
    const ranElsewhere = tasks.filter((t) => !workersHere.includes(t?.worker ?? ''));
    expect(ranElsewhere.length, 'tasks queued here that ran in the other arbiter').to.be.greaterThan(0);
    await local.backend.waitForTask(ids[ids.length - 1] as string, 60);
    for (const id of ids) {
      expect(doneHere).to.include(id);
      expect(doneThere).to.include(id);
    }
  });

  it('re-runs to SUCCESS a task whose worker process was killed with SIGKILL', async () => {
    const name = `kill9-${Date.now()}`;
    const arbiter = new Arbiter({ handleSignals: false });
    const tq = arbiter.add(new TaskQueue({ name, taskPaths: TASK_PATHS, taskBackend: url, workers: 2, concurrency: 'process' }));
    arbiters.push(arbiter);
    await arbiter.start();
    const id = (await tq.backend.queueTask('asynchronous', { lag: 1 })) as string;
    await nextEvent(tq.backend, 'task_started', (t) => t === id);
    const owner = (await tq.backend.getTask(id))?.worker;
    const info = (await arbiter.info()) as { apps: Record<string, { workers: { id: string; pid: number }[] }> };
    const victim = info.apps[name]?.workers.find((w) => w.id === owner);
    expect(victim).to.not.equal(undefined);
    process.kill(victim!.pid, 'SIGKILL');
    const task = await tq.backend.waitForTask(id, 60);
    expect(task?.status).to.equal(SUCCESS);
    expect(task?.worker).to.not.equal(owner);
    expect(task?.redeliveries).to.equal(1);
  });

  it('completes every queued and in-flight task after the whole arbiter is killed and a new one starts', async () => {
    const name = `phoenix-${Date.now()}`;
    const config = { name, taskPaths: TASK_PATHS, taskBackend: url, workers: 2, concurrency: 'process' as const, concurrentTasks: 3, leaseTimeout: 2 };
    const first = await startArbiterProcess(config);
    processes.push(first);
    producer = await createBackend(url, { name, taskPaths: TASK_PATHS });
    const ids = (await producer.queueTasks(Array.from({ length: 20 }, () => ({ jobName: 'asynchronous', kwargs: { lag: 0.4 } })))) as string[];
    await nextEvent(producer, 'task_started');
    first.child.kill('SIGKILL');
    await first.exited;
    const inFlight = (await producer.getTasks({ ids })).filter((t) => !t.done());
    expect(inFlight.length, 'tasks left unfinished by the killed arbiter').to.be.greaterThan(0);
    processes.push(await startArbiterProcess(config));
    const tasks = await Promise.all(ids.map((id) => producer!.waitForTask(id, 90)));
    expect(tasks.map((t) => t?.status)).to.deep.equal(Array(20).fill(SUCCESS));
    expect(first.child.pid !== undefined && alive(first.child.pid)).to.equal(false);
  });

  it('never charges a task for a graceful stop: an arbiter stopped and started again twice during a 15 s task → SUCCESS, redeliveries 0', async () => {
    const name = `deploys-${Date.now()}`;
    const config = { name, taskPaths: TASK_PATHS, taskBackend: url, workers: 1, concurrency: 'process' as const, shutdownGrace: 0.5 };
    producer = await createBackend(url, { name, taskPaths: TASK_PATHS });
    const id = (await producer.queueTask('asynchronous', { lag: 15 })) as string;
    for (let deploy = 1; deploy <= 2; deploy++) {
      const arbiter = new Arbiter({ handleSignals: false });
      arbiter.add(new TaskQueue(config));
      arbiters.push(arbiter);
      await arbiter.start();
      await eventually(async () => (await producer!.getTask(id))?.status === STARTED, `the task to start (deploy ${deploy})`);
      await arbiter.stop();
      const task = await producer.getTask(id);
      expect(task?.status, `after stop ${deploy}`).to.equal(QUEUED);
      expect(task?.redeliveries, `after stop ${deploy}`).to.equal(0);
      expect(task?.retries, `after stop ${deploy}`).to.equal(0);
    }
    const last = new Arbiter({ handleSignals: false });
    last.add(new TaskQueue(config));
    arbiters.push(last);
    await last.start();
    const task = await producer.waitForTask(id, 60);
    expect(task?.status).to.equal(SUCCESS);
    expect(task?.redeliveries).to.equal(0);
    expect(task?.retries).to.equal(0);
  });
});
