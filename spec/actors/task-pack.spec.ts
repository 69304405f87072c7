/**
 * Wire tasks cross a worker child's IPC channel packed (values in a fixed field order), and come
 * out as they went in: every field, through JSON as the channel carries them; a record that
 * packing would change crosses as it is.
 */
import { expect } from 'chai';
import { PACKED_FIELDS, packArgs, packDeliveries, packTask, unpackArgs, unpackDeliveries, unpackTask } from '../../actors/task-pack.js';
import type { WireTask } from '../../src/model/task.js';
import { wireTask } from '../support/wire-task.js';

/** Through the channel: JSON both ways, as a process child's channel carries it. */
const cross = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** A task whose every field differs from the others' and from a default. */
function distinctTask(): WireTask {
  return wireTask({
    status: 5,
    kwargs: { x: 1, nested: { list: [1, 'two', null] } },
    result: { sum: 3, parts: [1, 2] },
    stacktrace: 'Error: boom\n    at job',
    time_started: 1_700_000_001.5,
    time_ended: 1_700_000_002.25,
    expiry: 1_700_000_100,
    lock_id: 'lock-1',
    from_task: 'parent-id',
    worker: 'app-w1-abc',
    retries: 2,
    meta: { progress: { current: 1, total: 2 } },
    priority: 7,
    eta: 1_700_000_000.75,
    max_retries: 3,
    retry_delay: 1.5,
    timeout: 30,
    redeliveries: 1,
  });
}

describe('task-pack: wire tasks on a child channel', function () {
  it('packs every field of a wire task and rebuilds the same task on the other side', () => {
    const task = distinctTask();
    const packed = packTask(task);
    expect(packed).to.be.an('array').with.lengthOf(PACKED_FIELDS.length);
    expect(Object.keys(task)).to.have.members([...PACKED_FIELDS]);
    PACKED_FIELDS.forEach((field, i) => expect((packed as unknown[])[i], field).to.equal(task[field]));
    expect(unpackTask(cross(packed))).to.deep.equal(task);
  });

  it('packs the task of start, finish and retry and leaves the other arguments alone', () => {
    const task = distinctTask();
    const fence = { worker: 'app-w1-abc', token: 4 };
    for (const method of ['start', 'finish', 'retry']) {
      const args = [task, fence];
      const sent = packArgs(method, args);
      expect(sent[0], method).to.be.an('array');
      expect(args[0], `${method}: the caller's arguments are not changed`).to.equal(task);
      expect(unpackArgs(method, cross(sent)), method).to.deep.equal([task, fence]);
    }
    const progress = ['task-id', { current: 1 }, fence];
    expect(packArgs('progress', progress)).to.equal(progress);
    expect(packArgs('queue', [[task]])[0]).to.deep.equal([task]);
  });

  it('packs the tasks a pull delivers and rebuilds them with their tokens', () => {
    const deliveries = [
      { task: distinctTask(), token: 1 },
      { task: wireTask(), token: 2 },
    ];
    const crossed = unpackDeliveries(cross(packDeliveries(deliveries)));
    expect(crossed).to.deep.equal(deliveries);
  });

  it('sends a record with other fields, a missing or inherited field, an undefined value or a prototype of its own as the object it is', () => {
    const extra = { ...distinctTask(), surprise: 1 } as WireTask;
    const { eta: _eta, ...rest } = distinctTask();
    const missing = rest as WireTask;
    const undefinedValue = { ...distinctTask(), expiry: undefined } as unknown as WireTask;
    // Its fields all there, but one inherited: JSON would not write it.
    const { id, ...own } = distinctTask();
    const inherited = Object.assign(Object.create({ id }) as object, own) as unknown as WireTask;
    const classy = Object.assign(Object.create({ describe: () => 'a task' }) as object, distinctTask()) as unknown as WireTask;
    for (const task of [extra, missing, undefinedValue, inherited, classy]) {
      expect(packTask(task)).to.equal(task);
      expect(packArgs('finish', [task, { worker: 'w', token: 1 }])[0]).to.equal(task);
    }
    expect(unpackTask(cross(packTask(extra)))).to.deep.equal(extra);
  });
});
