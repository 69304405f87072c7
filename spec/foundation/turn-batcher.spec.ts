/**
 * TurnBatcher: what is pushed in one turn of the event loop leaves as one batch from a
 * setImmediate; a late batcher holds each item one more turn (until the setImmediate callbacks
 * queued behind it have run), and items pushed meanwhile wait their own extra turn.
 */
import { expect } from 'chai';
import { TurnBatcher } from '../../src/infra/turn-batcher.js';

/** Resolves from a setImmediate queued now (after those queued before it). */
const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TurnBatcher', () => {
  it('hands over the items of one turn as one batch, before setImmediate callbacks queued after them', async () => {
    const batches: number[][] = [];
    const batcher = new TurnBatcher<number>((items) => batches.push(items));
    batcher.push(1);
    batcher.push(2);
    await immediate();
    expect(batches).to.deep.equal([[1, 2]]);
  });

  it('late: leaves after the setImmediate callbacks queued behind its items, not before', async () => {
    const batches: number[][] = [];
    const batcher = new TurnBatcher<number>((items) => batches.push(items), true);
    batcher.push(1);
    const seen: number[][][] = [];
    // What a worker's job would run from: queued behind the item.
    setImmediate(() => {
      seen.push(batches.map((b) => [...b]));
      batcher.push(2);
    });
    await immediate();
    await immediate();
    expect(seen, 'not gone when the callback behind it ran').to.deep.equal([[]]);
    // 1 left a turn late; 2, pushed during that turn, waits its own extra turn.
    expect(batches).to.deep.equal([[1]]);
    await immediate();
    await immediate();
    expect(batches).to.deep.equal([[1], [2]]);
  });

  it('flushNow hands over everything pending at once, late or not', () => {
    const batches: number[][] = [];
    const batcher = new TurnBatcher<number>((items) => batches.push(items), true);
    batcher.push(1);
    batcher.push(2);
    batcher.flushNow();
    expect(batches).to.deep.equal([[1, 2]]);
    batcher.flushNow();
    expect(batches).to.have.length(1);
  });
});
