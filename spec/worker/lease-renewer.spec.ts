/**
 * LeaseRenewer: a renewal that finds a run's delivery gone reports the run lost, unless the run's
 * job is over and its outcome on its way: the outcome's own answer decides then (a finish saved
 * just before the renewal ran took the task out of flight; one fenced off is reported by the writer).
 */
import { expect } from 'chai';
import { getLogger } from '../../src/infra/logger.js';
import type { TaskStore } from '../../src/store/contract.js';
import { LeaseRenewer } from '../../src/worker/lease-renewer.js';
import type { ActiveRun } from '../../src/worker/run-state.js';

function run(id: string, jobDone: boolean): ActiveRun {
  return {
    id, name: 'addition', token: 1, lost: false, handedBack: false, jobDone, runToken: 1, job: null,
    startOwned: true, afterStart: null, leaseUntil: 0, done: null, settled: null,
  };
}

describe('LeaseRenewer', () => {
  it('reports lost a running run whose delivery is gone, not one whose outcome is on its way', async () => {
    let answered = (): void => undefined;
    const renewed = new Promise<void>((resolve) => (answered = resolve));
    const store = {
      renew: (_worker: string, deliveries: { id: string }[]) => {
        const gone = deliveries.map((d) => d.id);
        queueMicrotask(answered);
        return Promise.resolve(gone);
      },
    } as unknown as TaskStore;
    const runs = new Map<string, ActiveRun>([
      ['running', run('running', false)],
      ['writing', run('writing', true)],
    ]);
    const lost: string[] = [];
    const renewer = new LeaseRenewer(store, 'w', getLogger('spec.renewer'), runs, (r) => lost.push(r.id));
    renewer.renew(30_000);
    await renewed;
    await Promise.resolve();
    expect(lost).to.deep.equal(['running']);
  });
});
