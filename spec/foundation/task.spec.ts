import { expect } from 'chai';
import { DateTime } from 'luxon';
import { FAILURE, QUEUED, RETRY, REVOKED, STARTED, SUCCESS, type TaskStatus } from '../../src/model/states.js';
import { Task, type WireTask } from '../../src/model/task.js';

const QUEUED_AT = DateTime.fromMillis(1_767_225_600_250); // 2026-01-01T00:00:00.250Z

function queuedTask(status: TaskStatus = QUEUED): Task {
  return new Task({ id: 'abc123', name: 'addition', status, timeQueued: QUEUED_AT });
}

function fullTask(): Task {
  return new Task({
    id: 'f00d',
    name: 'standarddeviation',
    status: SUCCESS,
    kwargs: { inputs: [1, 2, 3], label: 'x' },
    result: { value: 0.816, ok: true },
    stacktrace: null,
    timeQueued: QUEUED_AT,
    timeStarted: QUEUED_AT.plus({ milliseconds: 1500 }),
    timeEnded: QUEUED_AT.plus({ milliseconds: 2750 }),
    expiry: QUEUED_AT.plus({ minutes: 1 }),
    lockId: 'lock-1',
    fromTask: 'parent-1',
    worker: 'app-w1-xyz',
    retries: 2,
    meta: { user: 'ann' },
    priority: 5,
    eta: QUEUED_AT.plus({ seconds: 10 }),
    maxRetries: 3,
    retryDelay: 1.5,
    timeout: 30,
    redeliveries: 1,
  });
}

function wireOf(task: Task): Record<string, unknown> {
  return JSON.parse(JSON.stringify(task.toWire())) as Record<string, unknown>;
}

describe('Task', () => {
  describe('construction', () => {
    it('fills every optional field with its default', () => {
      const task = queuedTask();
      expect(task).to.include({
        id: 'abc123',
        name: 'addition',
        status: QUEUED,
        result: null,
        stacktrace: null,
        timeStarted: null,
        timeEnded: null,
        expiry: null,
        lockId: null,
        fromTask: null,
        worker: null,
        retries: 0,
        priority: 0,
        eta: null,
        maxRetries: 0,
        retryDelay: 0,
        timeout: null,
        redeliveries: 0,
      });
      expect(task.kwargs).to.deep.equal({});
      expect(task.meta).to.deep.equal({});
      expect(task.timeQueued.toMillis()).to.equal(QUEUED_AT.toMillis());
    });

    it('gives each task its own kwargs and meta objects', () => {
      const a = queuedTask();
      const b = queuedTask();
      a.kwargs.x = 1;
      a.meta.y = 2;
      expect(b.kwargs).to.deep.equal({});
      expect(b.meta).to.deep.equal({});
    });
  });

  describe('done()', () => {
    it('is true in SUCCESS, FAILURE and REVOKED', () => {
      for (const status of [SUCCESS, FAILURE, REVOKED] as const) {
        expect(queuedTask(status).done(), `status ${status}`).to.equal(true);
      }
    });

    it('is false in QUEUED, STARTED and RETRY', () => {
      for (const status of [QUEUED, STARTED, RETRY] as const) {
        expect(queuedTask(status).done(), `status ${status}`).to.equal(false);
      }
    });
  });

  it('names its status in upper case', () => {
    expect(queuedTask(STARTED).statusString()).to.equal('STARTED');
    expect(queuedTask(REVOKED).statusString()).to.equal('REVOKED');
  });

  it('describes itself as task.<name>(<id>)', () => {
    expect(queuedTask().info()).to.equal('task.addition(abc123)');
    expect(String(queuedTask())).to.equal('task.addition(abc123)');
  });

  describe('wire codec', () => {
    it('writes snake_case keys', () => {
      expect(Object.keys(fullTask().toWire())).to.have.members([
        'id',
        'name',
        'status',
        'kwargs',
        'result',
        'stacktrace',
        'time_queued',
        'time_started',
        'time_ended',
        'expiry',
        'lock_id',
        'from_task',
        'worker',
        'retries',
        'meta',
        'priority',
        'eta',
        'max_retries',
        'retry_delay',
        'timeout',
        'redeliveries',
      ]);
    });

    it('writes times as epoch seconds, with their fraction', () => {
      const wire = fullTask().toWire();
      expect(wire.time_queued).to.equal(1_767_225_600.25);
      expect(wire.time_started).to.equal(1_767_225_601.75);
      expect(wire.time_ended).to.equal(1_767_225_603);
      expect(wire.expiry).to.equal(1_767_225_660.25);
      expect(wire.eta).to.equal(1_767_225_610.25);
    });

    it('writes missing times as null', () => {
      const wire = queuedTask().toWire();
      expect([wire.time_started, wire.time_ended, wire.expiry, wire.eta]).to.deep.equal([null, null, null, null]);
    });

    it('serialises a task to JSON as its wire form', () => {
      const task = fullTask();
      expect(JSON.parse(JSON.stringify(task))).to.deep.equal(task.toWire());
    });

    it('reads back every field of a task after a trip through JSON', () => {
      const task = fullTask();
      const back = Task.fromWire(wireOf(task));
      expect(back).to.be.instanceOf(Task);
      expect(back.toWire()).to.deep.equal(task.toWire());
      expect(back.timeStarted?.toMillis()).to.equal(task.timeStarted?.toMillis());
      expect(back.kwargs).to.deep.equal({ inputs: [1, 2, 3], label: 'x' });
      expect(back.lockId).to.equal('lock-1');
      expect(back.fromTask).to.equal('parent-1');
    });

    it('makes no luxon DateTime for a task read from its wire form until one of its times is read', () => {
      const wire = wireOf(fullTask());
      const made: number[] = [];
      const fromMillis = DateTime.fromMillis.bind(DateTime);
      DateTime.fromMillis = (ms, options) => {
        made.push(ms);
        return fromMillis(ms, options);
      };
      try {
        const back = Task.fromWire(wire);
        expect(back.toWire()).to.deep.equal(wire);
        expect(JSON.parse(JSON.stringify(back))).to.deep.equal(wire);
        expect(made, 'made by fromWire, toWire and toJSON').to.deep.equal([]);
        const started = back.timeStarted;
        expect(started?.toMillis()).to.equal(1_767_225_601_750);
        expect(back.timeStarted, 'made once, then kept').to.equal(started);
        expect(made).to.deep.equal([1_767_225_601_750]);
        expect([back.timeQueued, back.timeEnded, back.expiry, back.eta].map((t) => t?.toMillis())).to.deep.equal([
          1_767_225_600_250, 1_767_225_603_000, 1_767_225_660_250, 1_767_225_610_250,
        ]);
      } finally {
        DateTime.fromMillis = fromMillis;
      }
    });

    it('takes a time as a DateTime or as epoch milliseconds, and reads it back as a DateTime', () => {
      const task = new Task({ id: 'i', name: 'n', status: QUEUED, timeQueued: 1_767_225_600_250, eta: QUEUED_AT });
      expect(DateTime.isDateTime(task.timeQueued)).to.equal(true);
      expect(task.timeQueued.toMillis()).to.equal(1_767_225_600_250);
      expect(task.eta).to.equal(QUEUED_AT);
      task.timeEnded = 1_767_225_603_000;
      task.eta = null;
      expect(task.timeEnded?.toISO()).to.equal(DateTime.fromMillis(1_767_225_603_000).toISO());
      expect(task.toWire()).to.include({ time_queued: 1_767_225_600.25, time_ended: 1_767_225_603, eta: null });
    });

    it('fills missing optional keys with their defaults', () => {
      const back = Task.fromWire({ id: 'i', name: 'n', status: QUEUED, time_queued: 10.5 });
      expect(back.kwargs).to.deep.equal({});
      expect(back.result).to.equal(null);
      expect(back.lockId).to.equal(null);
      expect(back.retries).to.equal(0);
      expect(back.timeQueued.toMillis()).to.equal(10_500);
    });

    it('rejects a value that is not an object', () => {
      expect(() => Task.fromWire('task')).to.throw(TypeError, /not an object/);
      expect(() => Task.fromWire(null)).to.throw(TypeError, /not an object/);
      expect(() => Task.fromWire([])).to.throw(TypeError, /not an object/);
    });

    const badKeys: [keyof WireTask, unknown][] = [
      ['id', 42],
      ['name', undefined],
      ['status', 9],
      ['kwargs', [1, 2]],
      ['time_queued', 'yesterday'],
      ['time_started', 'now'],
      ['expiry', Infinity],
      ['lock_id', 7],
      ['retries', 'two'],
      ['meta', 'm'],
    ];
    for (const [key, value] of badKeys) {
      it(`names the bad key when "${key}" is malformed`, () => {
        const wire: Record<string, unknown> = { ...wireOf(fullTask()), [key]: value };
        expect(() => Task.fromWire(wire)).to.throw(TypeError, `"${key}"`);
      });
    }
  });
});
