/**
 * Every behaviour of a running TaskQueue, in process, thread and inline modes (as pulsar ran its
 * suite once per concurrency).
 */
import { expect } from 'chai';
import type { Arbiter } from '../../actors/arbiter.js';
import { TaskNotAvailable } from '../../src/model/errors.js';
import { FAILURE, REVOKED, SUCCESS } from '../../src/model/states.js';
import type { TaskQueue } from '../../src/app/taskqueue.js';
import { MODES, nextEvent, startQueue } from '../support/runtime.js';

for (const concurrency of MODES) {
  describe(`a TaskQueue with ${concurrency} workers`, function () {
    this.timeout(60_000);
    let arbiter: Arbiter;
    let tq: TaskQueue;

    before(async () => {
      ({ arbiter, tq } = await startQueue({ name: `modes-${concurrency}`, workers: 2, concurrency, schedulePeriodic: true }));
    });
    after(() => arbiter?.stop());

    it('adds 40 and 50 into SUCCESS 90', async () => {
      const id = await tq.backend.queueTask('addition', { a: 40, b: 50 });
      const task = await tq.backend.waitForTask(id as string, 30);
      expect(task?.status).to.equal(SUCCESS);
      expect(task?.result).to.equal(90);
      expect(task?.timeStarted).to.not.equal(null);
      expect(task?.timeEnded).to.not.equal(null);
      expect(task?.worker).to.match(new RegExp(`^modes-${concurrency}-w`));
    });

    it('runs an asynchronous job for at least its lag', async () => {
      const id = await tq.backend.queueTask('asynchronous', { lag: 0.3 });
      const task = await tq.backend.waitForTask(id as string, 30);
      expect(task?.status).to.equal(SUCCESS);
      expect(task?.result).to.be.at.least(0.29);
    });

    it('revokes a task whose expiry passed before it started, without timeStarted', async () => {
      const id = await tq.backend.queueTask('addition', { a: 1, b: 2 }, { expiry: 0 });
      const task = await tq.backend.waitForTask(id as string, 30);
      expect(task?.status).to.equal(REVOKED);
      expect(task?.timeStarted).to.equal(null);
    });

    it('rejects an unknown job with TaskNotAvailable', async () => {
      let error: unknown;
      await tq.backend.queueTask('nosuchjob').catch((err: unknown) => (error = err));
      expect(error).to.be.instanceOf(TaskNotAvailable);
      expect((error as Error).message).to.equal('Task nosuchjob is not registered');
    });

    it('does not queue a notoverlap task while an equal one runs, and does once it finished', async () => {
      const first = await tq.backend.queueTask('notoverlap', { lag: 0.5 });
      expect(first).to.be.a('string');
      expect(await tq.backend.queueTask('notoverlap', { lag: 0.5 })).to.equal(null);
      expect((await tq.backend.waitForTask(first as string, 30))?.status).to.equal(SUCCESS);
      const again = await tq.backend.queueTask('notoverlap', { lag: 0.5 });
      expect(again).to.be.a('string').and.not.equal(first);
      await tq.backend.waitForTask(again as string, 30);
    });

    it('gives the children of standarddeviation their parent as fromTask', async () => {
      const id = (await tq.backend.queueTask('standarddeviation', { sample: 4, size: 5 })) as string;
      const parent = await tq.backend.waitForTask(id, 30);
      expect(parent?.result).to.equal('produced 4 new tasks');
      const children = await tq.backend.getTasks({ fromTask: id });
      expect(children).to.have.length(4);
      for (const child of children) {
        const done = await tq.backend.waitForTask(child.id, 30);
        expect(done?.status).to.equal(SUCCESS);
        expect(done?.result).to.be.a('number');
        expect(done?.fromTask).to.equal(id);
      }
    });

    it('records a failing job as FAILURE with its message and stack', async () => {
      const id = await tq.backend.queueTask('fail', { message: 'kaboom' });
      const task = await tq.backend.waitForTask(id as string, 30);
      expect(task?.status).to.equal(FAILURE);
      expect(task?.result).to.equal('kaboom');
      expect(task?.stacktrace).to.contain('Error: kaboom');
    });

    it('broadcasts queued, started and done in that order', async () => {
      // Every event is recorded from before the task exists; this task's sequence is read after.
      const seen: [string, string][] = [];
      const listeners = (['task_queued', 'task_started', 'task_done'] as const).map((event) => {
        const listener = (taskId: string) => seen.push([event, taskId]);
        tq.backend.on(event, listener);
        return [event, listener] as const;
      });
      await tq.backend.ensureSubscribed();
      const id = (await tq.backend.queueTask('asynchronous', { lag: 0.2 })) as string;
      await nextEvent(tq.backend, 'task_done', (taskId) => taskId === id);
      for (const [event, listener] of listeners) tq.backend.off(event, listener);
      expect(seen.filter(([, taskId]) => taskId === id).map(([event]) => event)).to.deep.equal(['task_queued', 'task_started', 'task_done']);
    });

    it('runs a job that sees the other tasks of its worker', async () => {
      const lag = await tq.backend.queueTask('asynchronous', { lag: 1 });
      await nextEvent(tq.backend, 'task_started', (id) => id === lag);
      const ids = await Promise.all([1, 2, 3].map(() => tq.backend.queueTask('checkworker')));
      const results = await Promise.all(ids.map((id) => tq.backend.waitForTask(id as string, 30)));
      for (const task of results) {
        const result = task?.result as { tasks: string[]; worker: string };
        expect(result.tasks).to.include(task?.id);
        expect(result.worker).to.equal(task?.worker);
      }
      await tq.backend.waitForTask(lag as string, 30);
    });

    it('schedules TestPeriodic from the monitor tick and runs it', async () => {
      const id = await nextEvent(tq.backend, 'task_done', async (taskId) => (await tq.backend.getTask(taskId))?.name === 'testperiodic');
      const task = await tq.backend.getTask(id);
      expect(task?.status).to.equal(SUCCESS);
      expect(task?.result).to.equal('OK');
      const [name, seconds] = tq.backend.nextScheduled(['testperiodic']) as [string, number];
      expect(name).to.equal('testperiodic');
      expect(seconds).to.be.within(0, 5);
    });

    it('reports its workers in info', async () => {
      const info = (await arbiter.info()) as { apps: Record<string, { workers: { id: string; pid: number }[] }> };
      const workers = info.apps[`modes-${concurrency}`]?.workers ?? [];
      expect(workers).to.have.length(2);
      for (const w of workers) expect(w.pid).to.be.a('number');
    });
  });
}
