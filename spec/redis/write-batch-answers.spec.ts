/**
 * How a batch of redis:// worker writes answers each write (WriteBatch, no Redis needed): the
 * store's own bookkeeping (`settle`: the delivery released) hears the answer before the caller,
 * a start carried by its finish gets the finish's answer, and a failed run fails every write of
 * its batch, its bookkeeping told false.
 */
import { expect } from 'chai';
import { WriteBatch } from '../../src/backends/redis/redis-write-batch.js';

/** A batch whose runs are recorded and answered by hand. */
function manual(head: string[] = []) {
  const runs: { args: (string | number)[]; answer: (reply: unknown) => void; fail: (err: unknown) => void }[] = [];
  const batch = new WriteBatch(
    (args) =>
      new Promise((answer, fail) => {
        runs.push({ args, answer, fail });
      }),
    false,
    head,
  );
  return { batch, runs };
}

describe('redis:// write batches: answers', () => {
  it('runs one batch per turn with the head first, and tells each write its own answer, its settle first', async () => {
    const { batch, runs } = manual(['prefix:']);
    const heard: string[] = [];
    const a = batch.add(['a', 1], 0, undefined, (saved) => heard.push(`settle a ${saved}`)).then((saved) => heard.push(`a ${saved}`));
    const b = batch.add(['b', 2], 0, undefined, (saved) => heard.push(`settle b ${saved}`)).then((saved) => heard.push(`b ${saved}`));
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).to.have.length(1);
    expect(runs[0]?.args).to.deep.equal(['prefix:', 'a', 1, 'b', 2]);
    runs[0]?.answer([1, 0]);
    await Promise.all([a, b]);
    expect(heard).to.deep.equal(['settle a true', 'settle b false', 'a true', 'b false']);
  });

  it('settles and answers a write detached into another with that one’s answer, and leaves it out of its own batch', async () => {
    const starts = manual();
    const finishes = manual();
    const settled: boolean[] = [];
    const start = starts.batch.add(['t1', 'w', 7], 0, 't1', (saved) => settled.push(saved));
    const detached = starts.batch.detach('t1', 1, 'w', 7);
    expect(detached?.args).to.deep.equal(['t1', 'w', 7]);
    const finish = finishes.batch.add(['t1', 'w', 7, 'done'], 0, undefined, undefined, detached);
    starts.batch.flushNow();
    finishes.batch.flushNow();
    expect(starts.runs).to.have.length(0);
    finishes.runs[0]?.answer([1]);
    expect(await start).to.equal(true);
    expect(await finish).to.equal(true);
    expect(settled, 'the carried start settled once, with its carrier’s answer').to.deep.equal([true]);
  });

  it('does not detach a write of another delivery', () => {
    const { batch } = manual();
    void batch.add(['t1', 'w', 7], 0, 't1');
    expect(batch.detach('t1', 1, 'w', 8)).to.equal(undefined);
    expect(batch.detach('t1', 1, 'v', 7)).to.equal(undefined);
    expect(batch.detach('t2', 1, 'w', 7)).to.equal(undefined);
  });

  it('fails every write of a failed run and its carried start, each settle told false first', async () => {
    const starts = manual();
    const finishes = manual();
    const heard: string[] = [];
    const start = starts.batch.add(['t1', 'w', 7], 0, 't1');
    const carried = starts.batch.detach('t1', 1, 'w', 7);
    const one = finishes.batch.add(['t1'], 0, undefined, (saved) => heard.push(`settle t1 ${saved}`), carried);
    const two = finishes.batch.add(['t2'], 0, undefined, (saved) => heard.push(`settle t2 ${saved}`));
    finishes.batch.flushNow();
    const lost = new Error('connection lost');
    finishes.runs[0]?.fail(lost);
    for (const write of [start, one, two]) {
      const err = await write.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.equal(lost);
    }
    expect(heard).to.deep.equal(['settle t1 false', 'settle t2 false']);
  });
});
