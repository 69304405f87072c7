import { expect } from 'chai';
import { createHash } from 'node:crypto';
import type { Job } from '../../src/job/job.js';
import type { JsonObject } from '../../src/model/json.js';
import { generateTaskIds, newTaskId } from '../../src/job/ids.js';
import { Addition, NotOverlap, StandardDeviation } from '../../jobs/sample.js';

const sha1 = (text: string): string => createHash('sha1').update(text, 'utf8').digest('hex');
const lockOf = (job: Job, kwargs?: JsonObject): string | null => generateTaskIds(job, kwargs)[1];

describe('task ids', () => {
  const notOverlap = new NotOverlap();

  it('gives a new id on every call', () => {
    const [first] = generateTaskIds(notOverlap, { a: 1 });
    const [second] = generateTaskIds(notOverlap, { a: 1 });
    expect(first).to.not.equal(second);
    expect(new Set(Array.from({ length: 1000 }, newTaskId)).size).to.equal(1000);
  });

  it('makes ids of 16 base62 characters', () => {
    expect(generateTaskIds(new Addition())[0]).to.match(/^[0-9A-Za-z]{16}$/);
  });

  it('makes ids all different across refills of its random pool, every base62 character about equally often', () => {
    const ids = Array.from({ length: 5000 }, newTaskId);
    expect(new Set(ids).size).to.equal(5000);
    const counts = new Map<string, number>();
    for (const id of ids) {
      expect(id).to.match(/^[0-9A-Za-z]{16}$/);
      for (const c of id) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    // 80 000 characters over 62: about 1290 each (a standard deviation of about 36).
    expect(counts.size).to.equal(62);
    for (const n of counts.values()) expect(n).to.be.within(1000, 1600);
  });

  describe('lock ids of a job that may not overlap', () => {
    it('are equal for equal kwargs', () => {
      expect(lockOf(notOverlap, { a: 1, b: 'x' })).to.equal(lockOf(notOverlap, { a: 1, b: 'x' }));
    });

    it('do not depend on the order of the keys', () => {
      expect(lockOf(notOverlap, { b: 'x', a: 1 })).to.equal(lockOf(notOverlap, { a: 1, b: 'x' }));
    });

    it('do not depend on the order of the keys of nested objects', () => {
      expect(lockOf(notOverlap, { o: { y: [2, { q: 1, p: 0 }], x: 1 } })).to.equal(
        lockOf(notOverlap, { o: { x: 1, y: [2, { p: 0, q: 1 }] } }),
      );
    });

    it('differ for different keys', () => {
      expect(lockOf(notOverlap, { a: 1 })).to.not.equal(lockOf(notOverlap, { b: 1 }));
    });

    it('differ for different values', () => {
      expect(lockOf(notOverlap, { a: 1 })).to.not.equal(lockOf(notOverlap, { a: 2 }));
      expect(lockOf(notOverlap, { a: 1 })).to.not.equal(lockOf(notOverlap, { a: '1' }));
      expect(lockOf(notOverlap, { a: [1, 2] })).to.not.equal(lockOf(notOverlap, { a: [2, 1] }));
    });

    it('differ between kwargs and none', () => {
      expect(lockOf(notOverlap, { a: 1 })).to.not.equal(lockOf(notOverlap, {}));
    });

    it('are the sha1 of the name and the sorted key=JSON pairs', () => {
      expect(lockOf(notOverlap, { b: 'x', a: 1 })).to.equal(sha1('notoverlap a=1, b="x"'));
      expect(lockOf(notOverlap, { lag: 0.5, tags: ['p', null], z: { k: true } })).to.equal(
        sha1('notoverlap lag=0.5, tags=["p",null], z={"k":true}'),
      );
    });

    it('are the sha1 of the bare name without kwargs', () => {
      expect(lockOf(notOverlap)).to.equal(sha1('notoverlap'));
      expect(lockOf(notOverlap, {})).to.equal(sha1('notoverlap'));
    });
  });

  it('gives no lock id to a job that may overlap', () => {
    expect(lockOf(new Addition(), { a: 1, b: 2 })).to.equal(null);
    expect(lockOf(new Addition())).to.equal(null);
  });

  it("asks StandardDeviation's canOverlap function: a lock only without inputs", () => {
    const job = new StandardDeviation();
    expect(lockOf(job, { inputs: [1, 2, 3] })).to.equal(null);
    expect(lockOf(job, { sample: 3 })).to.equal(sha1('standarddeviation sample=3'));
    expect(lockOf(job)).to.equal(sha1('standarddeviation'));
  });
});
