/**
 * The arbiter's policy for a failed TaskQueue: a back-off doubling up to a cap, and a budget per
 * period past which it gives up.
 */
import { expect } from 'chai';
import { QueueRestarts } from '../../actors/supervision.js';

describe('QueueRestarts', () => {
  it('doubles the back-off at each restart within the period, up to its cap, then gives up', () => {
    const restarts = new QueueRestarts({ intensity: 5, period: 600, backoffMs: 1000, maxBackoffMs: 5000 });
    const t0 = 1_000_000;
    expect([0, 1, 2, 3, 4].map((i) => restarts.next(t0 + i * 1000))).to.deep.equal([1000, 2000, 4000, 5000, 5000]);
    expect(restarts.next(t0 + 5000)).to.equal(null);
  });

  it('starts again from the first back-off once earlier failures left the period', () => {
    const restarts = new QueueRestarts({ intensity: 2, period: 10, backoffMs: 100, maxBackoffMs: 10_000 });
    expect(restarts.next(0)).to.equal(100);
    expect(restarts.next(1000)).to.equal(200);
    expect(restarts.next(30_000)).to.equal(100);
  });

  it('gives up at the first failure with intensity 0', () => {
    expect(new QueueRestarts({ intensity: 0, period: 60, backoffMs: 100, maxBackoffMs: 100 }).next()).to.equal(null);
  });
});
