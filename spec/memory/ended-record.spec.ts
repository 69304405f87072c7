/**
 * The packed form a MemoryStore keeps of an ended task: it gives back the very task it was made
 * from (every field, defaults or not), and the store keeps ended tasks in it (each read is a fresh
 * record, nothing else kept) while a task not ended stays the record it was given.
 */
import { expect } from 'chai';
import { packEnded, unpackEnded } from '../../src/backends/memory/ended-record.js';
import { StoredTasks } from '../../src/backends/memory/stored-tasks.js';
import { FAILURE, QUEUED, REVOKED, STARTED, SUCCESS } from '../../src/model/states.js';
import type { WireTask } from '../../src/model/task.js';
import { wireTask } from './memory-support.js';

const roundTrip = (task: WireTask): WireTask => unpackEnded(task.id, task.name, task.status, packEnded(task));

describe('MemoryStore ended records', () => {
  it('unpack what was packed: defaults, every field set, and values JSON keeps exactly', () => {
    const tasks: WireTask[] = [
      wireTask({ status: SUCCESS, result: 3, time_started: 1764606000.123, time_ended: 1764606000.125, worker: 'w-1' }),
      wireTask({ status: REVOKED, result: 'revoked', time_ended: 1764606001.5 }),
      wireTask({
        status: FAILURE,
        kwargs: { nested: { list: [1, 'two', null, true, { x: -0.5 }] }, ['__proto__']: 1, 'é€😀': '\u0000\ud800' },
        result: 'boom',
        stacktrace: 'Error: boom\n    at x',
        time_queued: 1764606000.1,
        time_started: 1764606000.2,
        time_ended: 1764606000.3,
        expiry: 1764609600,
        lock_id: 'abc',
        from_task: 'parent',
        worker: 'w-2',
        retries: 2,
        meta: { progress: 50, tag: 'x' },
        priority: -3,
        eta: 1764606000.05,
        max_retries: 2,
        retry_delay: 1.5,
        timeout: 30,
        redeliveries: 1,
      }),
      wireTask({ status: SUCCESS, result: [{ a: 1 }], redeliveries: 4 }),
      wireTask({ status: SUCCESS, result: { big: 'x'.repeat(1000) }, priority: 5 }),
    ];
    for (const task of tasks) {
      const back = roundTrip(task);
      expect(back).to.deep.equal(task);
      expect(Object.keys(back)).to.deep.equal(Object.keys(task));
      expect(Object.getPrototypeOf(back.kwargs)).to.equal(Object.prototype);
    }
    expect(Object.keys(roundTrip(tasks[2] as WireTask).kwargs)).to.include('__proto__');
  });

  it('leave out trailing fields at their defaults, and keep times of whole ms after queueing as that count', () => {
    const plain = wireTask({ status: SUCCESS, result: 3, time_queued: 1764606000.1, time_started: 1764606000.123, time_ended: 1764606000.2, worker: 'w' });
    expect(packEnded(plain)).to.equal(JSON.stringify([plain.kwargs, 3, 1764606000.1, 23, 100, 'w']));
    expect(packEnded({ ...plain, redeliveries: 1 }).endsWith(',1]')).to.equal(true);
    const odd = { ...plain, time_started: 1764606000.1234, time_ended: 1 };
    expect(roundTrip(odd)).to.deep.equal(odd);
  });

  it('are what the store keeps of an ended task: a fresh record at each read, the given one before', () => {
    const tasks = new StoredTasks();
    const queued = wireTask();
    const entry = tasks.add(queued);
    expect(entry.task).to.equal(queued);
    const started: WireTask = { ...queued, status: STARTED, worker: 'w', time_started: 1764606000.2 };
    tasks.save(entry, started);
    expect(entry.task).to.equal(started);
    const ended: WireTask = { ...started, status: SUCCESS, result: { sum: 3 }, time_ended: 1764606000.3 };
    tasks.save(entry, ended);
    expect(entry.task).to.deep.equal(ended);
    expect(entry.task).not.to.equal(ended);
    expect(entry.task).not.to.equal(entry.task);
    expect(entry.status).to.equal(SUCCESS);
    expect(tasks.page({ status: [SUCCESS], name: 'addition' }, { limit: 10, cursor: null }).tasks).to.deep.equal([ended]);
    expect(tasks.page({ status: [QUEUED] }, { limit: 10, cursor: null }).tasks).to.deep.equal([]);
  });
});
