/**
 * The example actor application of examples/ (README "Embedding") runs as documented.
 */
import { expect } from 'chai';
import { runExample } from '../../examples/embedded-app.js';

describe('the embedded example app (examples/embedded-app.ts)', function () {
  this.timeout(60_000);

  it('queues on two TaskQueues by message, counts every task_done once, and sees a monitor restart after an injected crash', async () => {
    const summary = await runExample(10);
    expect(summary.done).to.deep.equal({ emails: 20, reports: 10 });
    // 1 + … + 10, three batches.
    expect(summary.total).to.equal(3 * 55);
    expect(summary.notices).to.deep.equal(['pulsar_app_restarting']);
  });
});
