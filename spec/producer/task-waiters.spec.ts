/**
 * TaskWaiters: a task_done that hands the ready task resolves its waiters without a read (also a
 * wait that starts after it, for a task queued here); one that hands nothing, or a task that is
 * not ready, makes them read as before.
 */
import { expect } from 'chai';
import { TaskWaiters } from '../../src/producer/task-waiters.js';
import { STARTED, SUCCESS } from '../../src/model/states.js';
import { Task, type WireTask } from '../../src/model/task.js';
import { wireTask } from '../support/wire-task.js';
import { TaskTimeoutError } from '../../src/model/errors.js';

describe('waiting for tasks (producer/task-waiters)', () => {
  /** A read that counts its calls and answers `answer()`; `first` resolves at the first call. */
  function reader(answer: () => WireTask | null): { read: (id: string) => Promise<Task | null>; reads: () => number; first: Promise<void> } {
    let reads = 0;
    let firstRead = (): void => undefined;
    const first = new Promise<void>((resolve) => (firstRead = resolve));
    const read = async (): Promise<Task | null> => {
      reads += 1;
      firstRead();
      const wire = answer();
      return wire ? Task.fromWire(wire) : null;
    };
    return { read, reads: () => reads, first };
  }

  it('resolves every waiter of a task with its own record of the task a task_done hands, without a read', async () => {
    const waiters = new TaskWaiters();
    const done = wireTask({ id: 't1', status: SUCCESS, result: 7 });
    const { read, reads } = reader(() => done);
    waiters.track(['t1'], 1);
    const a = waiters.wait('t1', 10, read, 60_000, 1);
    const b = waiters.wait('t1', 10, read, 60_000, null);
    // b was not tracked under a live epoch: its first read may come before the broadcast.
    const before = reads();
    let decoded = 0;
    waiters.notify('t1', () => {
      decoded += 1;
      return { ...done };
    });
    const [ta, tb] = await Promise.all([a, b]);
    expect(ta?.status).to.equal(SUCCESS);
    expect(tb?.result).to.equal(7);
    expect(ta).to.not.equal(tb);
    expect(decoded).to.equal(2);
    expect(reads()).to.equal(before);
  });

  it('reads again when the task_done hands nothing, a task that is not ready, or another task', async () => {
    const waiters = new TaskWaiters();
    let current = wireTask({ id: 't2', status: STARTED });
    const { read, reads, first } = reader(() => current);
    waiters.track(['t2'], 1);
    const waiting = waiters.wait('t2', 10, read, 60_000, 1);
    waiters.notify('t2', () => wireTask({ id: 't2', status: STARTED }));
    await first;
    expect(reads()).to.equal(1);
    waiters.notify('t2', () => wireTask({ id: 'other', status: SUCCESS }));
    waiters.notify('t2', () => null);
    current = wireTask({ id: 't2', status: SUCCESS, result: 1 });
    waiters.notify('t2');
    expect((await waiting)?.result).to.equal(1);
    expect(reads()).to.be.at.least(2);
  });

  it('ends a wait that starts after its task_done handed the task with that task, for ids queued here only', async () => {
    const waiters = new TaskWaiters();
    const done = (id: string) => wireTask({ id, status: SUCCESS, result: 5 });
    const { read, reads } = reader(() => done('t4'));
    waiters.track(['t3'], 1);
    waiters.notify('t3', () => done('t3'));
    // t4 was not queued by this backend: nothing is kept for it.
    waiters.notify('t4', () => done('t4'));
    expect((await waiters.wait('t3', 10, read, 60_000, 1))?.result).to.equal(5);
    expect(reads()).to.equal(0);
    expect((await waiters.wait('t4', 10, read, 60_000, 1))?.result).to.equal(5);
    expect(reads()).to.equal(1);
    // Kept once: a second wait for t3 reads.
    await waiters.wait('t3', 10, read, 60_000, 1);
    expect(reads()).to.equal(2);
  });

  it('reads again every recheckMs while no task_done comes, and rejects with TaskTimeoutError after its timeout', async () => {
    const waiters = new TaskWaiters();
    let current = wireTask({ id: 't5', status: STARTED });
    let reads = 0;
    let thirdRead = (): void => undefined;
    const third = new Promise<void>((resolve) => (thirdRead = resolve));
    const read = async (): Promise<Task | null> => {
      if (++reads === 3) thirdRead();
      return Task.fromWire(current);
    };
    // Not tracked: the first read is at once, the next ones every 20 ms.
    const waiting = waiters.wait('t5', 30, read, 20, null);
    await third;
    current = wireTask({ id: 't5', status: SUCCESS, result: 3 });
    expect((await waiting)?.result).to.equal(3);
    // A wait that nothing ends: its timeout (0.05 s) rejects it, its re-reads stop.
    const stuck = waiters.wait('t6', 0.05, async () => Task.fromWire(wireTask({ id: 't6', status: STARTED })), 20, null);
    const error = await stuck.then(() => null, (err: unknown) => err);
    expect(error).to.be.instanceOf(TaskTimeoutError);
  });
});
