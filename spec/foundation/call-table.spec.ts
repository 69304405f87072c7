import { expect } from 'chai';
import { CallTable } from '../../src/backends/call-table.js';

const table = () => new CallTable((what, ms) => new Error(`${what} timed out after ${ms} ms`));

describe('the call table of a carried store', () => {
  it('gives each call its own id and routes every answer to its call, in any order', async () => {
    const calls = table();
    const made = Array.from({ length: 10 }, (_, i) => ({ i, ...calls.add(`call ${i}`, 60_000) }));
    expect(new Set(made.map((c) => c.rid)).size).to.equal(10);
    for (const c of [...made].reverse()) calls.resolve(c.rid, c.i);
    expect(await Promise.all(made.map((c) => c.answer))).to.deep.equal(made.map((c) => c.i));
    expect(calls.size).to.equal(0);
    calls.close();
  });

  it('ignores an answer to a call it does not know, or one answered already', async () => {
    const calls = table();
    const { rid, answer } = calls.add('get', 60_000);
    calls.resolve(rid + 1, 'stray');
    calls.resolve(rid - 1, 'stray');
    calls.resolve(rid, 'first');
    calls.resolve(rid, 'second');
    calls.reject(rid, new Error('late'));
    expect(await answer).to.equal('first');
    expect(calls.size).to.equal(0);
    calls.close();
  });

  it('keeps a call pending far behind thousands of answered ones, and still answers it by its id', async () => {
    const calls = table();
    const parked = calls.add('pull', 60_000);
    for (let i = 0; i < 20_000; i++) {
      const { rid, answer } = calls.add('start', 60_000);
      calls.resolve(rid, i);
      expect(await answer).to.equal(i);
    }
    const later = calls.add('finish', 60_000);
    expect(calls.size).to.equal(2);
    calls.resolve(parked.rid, 'work');
    calls.reject(later.rid, new Error('refused'));
    expect(await parked.answer).to.equal('work');
    await later.answer.then(
      () => expect.fail('the rejected call resolved'),
      (err: Error) => expect(err.message).to.equal('refused'),
    );
    expect(calls.size).to.equal(0);
    calls.close();
  });

  it('routes every answer while calls are always pending (a pipeline that never drains)', async () => {
    const calls = table();
    const window: { rid: number; answer: Promise<unknown>; i: number }[] = [];
    const answers: Promise<unknown>[] = [];
    for (let i = 0; i < 20_000; i++) {
      const call = { i, ...calls.add('finish', 60_000) };
      window.push(call);
      answers.push(call.answer);
      // Ten calls stay pending; the oldest but one is answered first now and then (out of order).
      if (window.length > 10) {
        const at = i % 7 === 0 ? 1 : 0;
        const [done] = window.splice(at, 1);
        calls.resolve((done as { rid: number }).rid, (done as { i: number }).i);
      }
    }
    for (const call of window) calls.resolve(call.rid, call.i);
    expect(await Promise.all(answers)).to.deep.equal(Array.from({ length: 20_000 }, (_, i) => i));
    expect(calls.size).to.equal(0);
    calls.close();
  });

  it('fails a call that got no answer within its time, naming it, and only that one', async () => {
    const calls = table();
    const slow = calls.add('numQueued', 1);
    const patient = calls.add('get', 60_000);
    await slow.answer.then(
      () => expect.fail('the call resolved'),
      (err: Error) => expect(err.message).to.equal('numQueued timed out after 1 ms'),
    );
    expect(calls.size).to.equal(1);
    calls.resolve(patient.rid, 'late but in time');
    expect(await patient.answer).to.equal('late but in time');
    calls.close();
  });

  it('fails every pending call when closed, stragglers included', async () => {
    const calls = table();
    const parked = calls.add('pull', 60_000);
    for (let i = 0; i < 5000; i++) calls.resolve(calls.add('start', 60_000).rid, i);
    const pending = [parked, calls.add('finish', 60_000), calls.add('retry', 60_000)];
    calls.close(new Error('closed'));
    const outcomes = await Promise.allSettled(pending.map((c) => c.answer));
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : 'resolved'))).to.deep.equal(['closed', 'closed', 'closed']);
    expect(calls.size).to.equal(0);
  });
});
