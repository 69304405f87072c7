/**
 * Supervision scenarios: workers replaced after maxRequests, after a kill -9, when silent, when
 * stuck on a job that ignores its timeout; and the restart budget, past which the arbiter restarts
 * the queue with a back-off (and past its own policy gives up, telling the embedding code).
 */
import { expect } from 'chai';
import { Arbiter } from '../../actors/arbiter.js';
import { FAILURE, QUEUED, REVOKED, SUCCESS } from '../../src/model/states.js';
import { TaskQueue } from '../../src/app/taskqueue.js';
import { alive, eventually, MODES, nextEvent, startQueue, TASK_PATHS } from '../support/runtime.js';

type Info = { workers: { id: string; pid: number; thread: number | null }[] };

describe('supervision', function () {
  this.timeout(90_000);
  let arbiter: Arbiter | undefined;
  afterEach(async () => {
    await arbiter?.stop();
    arbiter = undefined;
  });

  for (const concurrency of MODES) {
    it(`replaces ${concurrency} workers after maxRequests tasks: 10 tasks with maxRequests 3 all succeed on several workers`, async () => {
      let tq: TaskQueue;
      ({ arbiter, tq } = await startQueue({ name: `maxreq-${concurrency}`, workers: 1, concurrency, maxRequests: 3 }));
      const ids = await tq.backend.queueTasks(Array.from({ length: 10 }, (_, i) => ({ jobName: 'addition', kwargs: { a: i, b: 1 } })));
      const tasks = await Promise.all(ids.map((id) => tq.backend.waitForTask(id as string, 60)));
      expect(tasks.map((t) => t?.status)).to.deep.equal(Array(10).fill(SUCCESS));
      expect(new Set(tasks.map((t) => t?.worker)).size).to.be.at.least(4);
    });
  }

  it('respawns a worker process killed with SIGKILL mid-task, and the task is re-run to SUCCESS', async () => {
    let tq: TaskQueue;
    ({ arbiter, tq } = await startQueue({ name: 'kill9', workers: 1, concurrency: 'process' }));
    const id = (await tq.backend.queueTask('asynchronous', { lag: 1.5 })) as string;
    await nextEvent(tq.backend, 'task_started', (t) => t === id);
    const started = await tq.backend.getTask(id);
    const before = (await tq.backend.queueTasks([])).length === 0 ? ((await arbiter.info()) as { apps: Record<string, Info> }).apps.kill9 : undefined;
    const victim = before?.workers.find((w) => w.id === started?.worker);
    expect(victim, 'the worker running the task').to.not.equal(undefined);
    process.kill(victim!.pid, 'SIGKILL');
    const task = await tq.backend.waitForTask(id, 60);
    expect(task?.status).to.equal(SUCCESS);
    expect(task?.redeliveries).to.equal(1);
    expect(task?.retries, 'retries count job failures only').to.equal(0);
    expect(task?.worker).to.not.equal(victim!.id);
    const after = ((await arbiter.info()) as { apps: Record<string, Info> }).apps.kill9;
    expect(after?.workers.map((w) => w.id)).to.not.include(victim!.id);
    expect(after?.workers).to.have.length(1);
    expect(alive(victim!.pid)).to.equal(false);
  });

  it('fails a task whose worker is lost more often than maxRedeliveries, with a worker-lost result', async () => {
    let tq: TaskQueue;
    ({ arbiter, tq } = await startQueue({ name: 'lost', workers: 1, concurrency: 'process', maxRedeliveries: 1 }));
    const id = (await tq.backend.queueTask('crash', { code: 9 })) as string;
    const task = await tq.backend.waitForTask(id, 60);
    expect(task?.status).to.equal(FAILURE);
    expect(task?.result).to.match(/worker lost/);
    expect(task?.redeliveries).to.equal(1);
    // The queue still works with the replacement worker.
    const next = await tq.backend.waitForTask((await tq.backend.queueTask('addition', { a: 1, b: 1 })) as string, 60);
    expect(next?.result).to.equal(2);
  });

  it('replaces a worker that stays silent past the timeout', async () => {
    let tq: TaskQueue;
    ({ arbiter, tq } = await startQueue({ name: 'silent', workers: 1, concurrency: 'process', timeout: 1, maxRedeliveries: 0 }));
    const first = ((await arbiter.info()) as { apps: Record<string, Info> }).apps.silent?.workers[0];
    const id = (await tq.backend.queueTask('busy', { seconds: 30 })) as string;
    const task = await tq.backend.waitForTask(id, 60);
    expect(task?.status).to.equal(FAILURE);
    expect(task?.result).to.match(/worker lost/);
    const replaced = await eventually(async () => {
      const workers = ((await arbiter!.info()) as { apps: Record<string, Info> }).apps.silent?.workers ?? [];
      return workers.length === 1 && workers[0]?.id !== first?.id ? workers[0] : undefined;
    }, 'a replacement worker');
    expect(replaced.id).to.not.equal(first?.id);
  });

  it('keeps a process worker whose start takes longer than the silence timeout: a slow boot is not silence', async () => {
    const ready: string[] = [];
    let tq: TaskQueue;
    ({ arbiter, tq } = await startQueue({
      name: 'slowboot',
      workers: 1,
      concurrency: 'process',
      timeout: 1,
      taskPaths: [...TASK_PATHS, 'spec/fixtures/slow-boot/*'],
      workerStart: (worker) => ready.push(worker.id),
    }));
    const task = await tq.backend.waitForTask((await tq.backend.queueTask('slowbootprobe')) as string, 60);
    expect(task?.result).to.equal('booted');
    expect(ready, 'workers that reported ready').to.have.length(1);
    expect(task?.worker).to.equal(ready[0]);
  });

  it('revokes a task past its timeout and replaces a process worker whose job ignores the signal', async () => {
    let tq: TaskQueue;
    ({ arbiter, tq } = await startQueue({ name: 'stuck', workers: 1, concurrency: 'process' }));
    const first = ((await arbiter.info()) as { apps: Record<string, Info> }).apps.stuck?.workers[0];
    const id = (await tq.backend.queueTask('stubborn', { lag: 60 }, { timeout: 0.3 })) as string;
    const task = await tq.backend.waitForTask(id, 60);
    expect(task?.status).to.equal(REVOKED);
    expect(task?.result).to.match(/timed out/);
    await eventually(async () => {
      const workers = ((await arbiter!.info()) as { apps: Record<string, Info> }).apps.stuck?.workers ?? [];
      return workers.length === 1 && workers[0]?.id !== first?.id;
    }, 'the stuck worker to be replaced');
  });

  it('retries a failing task up to maxRetries and counts the retries', async () => {
    let tq: TaskQueue;
    ({ arbiter, tq } = await startQueue({ name: 'retries', workers: 1, concurrency: 'inline' }));
    const ok = await tq.backend.waitForTask((await tq.backend.queueTask('flaky', { failures: 2 })) as string, 30);
    expect(ok?.status).to.equal(SUCCESS);
    expect(ok?.retries).to.equal(2);
    const ko = await tq.backend.waitForTask((await tq.backend.queueTask('flaky', { failures: 5 })) as string, 30);
    expect(ko?.status).to.equal(FAILURE);
    expect(ko?.result).to.equal('flaky failure 3');
  });

  it('restarts a TaskQueue whose workers die 12 times in 10 s, with a back-off, and tells the embedding code (event)', async () => {
    let tq: TaskQueue;
    ({ arbiter, tq } = await startQueue({ name: 'budget', workers: 3, concurrency: 'thread', concurrentTasks: 1, restartIntensity: 10, restartPeriod: 60, maxRedeliveries: 0 }));
    const failed: string[] = [];
    arbiter.on('app_failed', (name: string) => failed.push(name));
    const restarting = new Promise<[string, Error, { attempt: number; delayMs: number }]>((resolve) =>
      arbiter!.once('app_restarting', (...args: [string, Error, { attempt: number; delayMs: number }]) => resolve(args)),
    );
    const restarted = new Promise<string>((resolve) => arbiter!.once('app_restarted', resolve));
    // maxRedeliveries 0: each crash task kills one worker, 12 deaths in all.
    await tq.backend.queueTasks(Array.from({ length: 12 }, () => ({ jobName: 'crash', kwargs: { code: 7 } })));
    const [name, error, { attempt, delayMs }] = await restarting;
    expect(name).to.equal('budget');
    expect(error.name).to.equal('RestartBudgetExceeded');
    expect(error.message).to.match(/restart budget exceeded/).and.contain('exit code 7');
    expect([attempt, delayMs]).to.deep.equal([1, 1000]);
    expect(await restarted).to.equal('budget');
    // Restarted, not stopped: the queue (and the tasks in its local:// store) still works.
    const id = (await tq.backend.queueTask('addition', { a: 1, b: 2 })) as string;
    expect((await tq.backend.waitForTask(id, 60))?.result).to.equal(3);
    expect(failed).to.deep.equal([]);
  });

  it('fails a wait on the backend a restarted TaskQueue left behind, naming why, instead of hanging', async function () {
    this.timeout(20_000);
    arbiter = new Arbiter({ handleSignals: false, queueRestarts: { intensity: 5, period: 60, backoffMs: 100 } });
    const tq = arbiter.add(new TaskQueue({ name: 'waitrestart', taskPaths: TASK_PATHS, workers: 1, concurrency: 'thread', concurrentTasks: 1, restartIntensity: 0 }));
    await arbiter.start();
    const old = tq.backend;
    const later = (await old.queueTask('addition', { a: 1, b: 2 }, { delay: 3600 })) as string;
    const waited = old.waitForTask(later, 60).then(
      () => null,
      (err: Error) => err,
    );
    const restarted = new Promise<void>((resolve) => arbiter!.once('app_restarted', () => resolve()));
    await old.queueTask('crash', { code: 5 });
    const error = await waited;
    expect(error?.name).to.equal('BackendClosed');
    expect(error?.message).to.match(/waitrestart is closed .*read tq.backend again/);
    await restarted;
    expect(tq.backend).to.not.equal(old);
    expect((await tq.backend.getTask(later))?.status, 'the task outlived the restart (local:// belongs to the arbiter)').to.equal(QUEUED);
  });

  it('gives up on a TaskQueue failing past the arbiter\'s own policy: app_failed, and join() rejects', async () => {
    arbiter = new Arbiter({ handleSignals: false, queueRestarts: { intensity: 1, period: 60, backoffMs: 100 } });
    const tq = arbiter.add(new TaskQueue({ name: 'hopeless', taskPaths: TASK_PATHS, workers: 2, concurrency: 'thread', concurrentTasks: 1, restartIntensity: 1 }));
    await arbiter.start();
    const joined = arbiter.join().then(() => null, (err: Error) => err);
    const failed = new Promise<[string, Error]>((resolve) => arbiter!.once('app_failed', (...args: [string, Error]) => resolve(args)));
    await tq.backend.queueTasks(Array.from({ length: 4 }, () => ({ jobName: 'crash', kwargs: { code: 5 } })));
    const [name, error] = await failed;
    expect(name).to.equal('hopeless');
    expect(error.name).to.equal('ApplicationFailed');
    expect(error.message).to.match(/failed 2 times in 60s: the arbiter gives up on it/);
    expect((await joined)?.name).to.equal('ApplicationFailed');
  });
});
