/**
 * How the redis:// store encodes and decodes a task hash (redis-codec.ts), no Redis needed: the
 * values a worker's writes compare with are the task's own, in WIRE_KEYS order; defaults and
 * time_queued are read without the stored JSON; a default object is a new one for each task.
 */
import { expect } from 'chai';
import { encodeNewTask, WIRE_KEYS, wireValues } from '../../src/backends/redis/redis-codec.js';
import { decodeStored } from '../../src/backends/redis/redis-decode.js';
import type { WireTask } from '../../src/model/task.js';
import { wireTask } from '../support/wire-task.js';

describe('redis:// task codec', () => {
  it('decodes a new task\'s hash: time_queued from _tq, defaults, each value the task\'s own', () => {
    const flat = ['_qm', '7', '_tq', '1796277549297021', 'status', '6', 'name', '"addition"', 'kwargs', '{"a":1,"b":2}'];
    const first = decodeStored(flat, 'id-1');
    const second = decodeStored(flat, 'id-2');
    if (!first || !second) throw new Error('not decoded');
    expect(first.task).to.deep.include({ id: 'id-1', name: 'addition', status: 6, kwargs: { a: 1, b: 2 }, time_queued: 1796277549.297, meta: {}, retries: 0, result: null });
    expect(first.values).to.deep.equal(WIRE_KEYS.map((key) => first.task[key]));
    for (let k = 0; k < WIRE_KEYS.length; k++) expect(first.values[k]).to.equal(first.task[WIRE_KEYS[k] as (typeof WIRE_KEYS)[number]]);
    expect(first.encoded[WIRE_KEYS.indexOf('time_queued')]).to.equal('1796277549.297');
    expect(first.encoded[WIRE_KEYS.indexOf('meta')]).to.equal('{}');
    // Objects are never shared between tasks: a job's copy-on-write relies on it.
    expect(first.task.meta).to.not.equal(second.task.meta);
  });

  it('reads a task\'s values in WIRE_KEYS order (wireValues), each field its own', () => {
    // A distinct value in every field: a field read out of order shows.
    const task = Object.fromEntries(WIRE_KEYS.map((key, i) => [key, `value ${i} of ${key}`])) as unknown as WireTask;
    expect(wireValues(task)).to.deep.equal(WIRE_KEYS.map((key, i) => `value ${i} of ${key}`));
  });

  it('decodes stored JSON values and progress', () => {
    const flat = ['status', '5', 'name', '"echo"', 'meta', '{"who":"x"}', 'time_queued', '12.5', '_tq', '999', 'result', '[1,"é"]', '_progress', '0.5'];
    const stored = decodeStored(flat, 'i');
    expect(stored?.task).to.deep.include({ time_queued: 12.5, meta: { who: 'x', progress: 0.5 }, result: [1, 'é'] });
    expect(stored?.encoded[WIRE_KEYS.indexOf('meta')]).to.equal('{"who":"x","progress":0.5}');
    expect(decodeStored([], 'i')).to.equal(null);
  });

  it('stores a new task without its id, skipped, null and default fields, whatever form the default takes', () => {
    const skip = new Set(['status', 'time_queued']);
    const plain = wireTask({ id: 'i', kwargs: {}, meta: Object.create(null) as Record<string, never>, retries: -0, priority: 0 });
    expect(encodeNewTask(plain, skip)).to.deep.equal(['name', '"addition"']);
    const full = wireTask({ id: 'i', kwargs: { a: 0 }, meta: { m: {} }, retries: 1, priority: -3, max_retries: 0.5, timeout: 0, lock_id: 'l' });
    expect(encodeNewTask(full, skip)).to.deep.equal([
      'name', '"addition"', 'kwargs', '{"a":0}', 'lock_id', '"l"', 'retries', '1', 'meta', '{"m":{}}', 'priority', '-3', 'max_retries', '0.5', 'timeout', '0',
    ]);
  });
});
