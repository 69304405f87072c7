/**
 * StoreWriter: a run's outcome is written without waiting for its start's answer, and read with it
 * once both came, whichever came first: an outcome answered before its start waits for the start's
 * answer; a refused start is what is reported, whatever the outcome's answer; an outcome that
 * failed is reported as not recorded only when the start was saved.
 */
import { expect } from 'chai';
import { getLogger } from '../../src/infra/logger.js';
import { STARTED, SUCCESS } from '../../src/model/states.js';
import type { WireTask } from '../../src/model/task.js';
import type { Fence, TaskStore } from '../../src/store/contract.js';
import { StoreWriter, type FencedRun } from '../../src/worker/store-writer.js';
import { wireTask } from '../support/wire-task.js';

/** A store whose start and finish answers are given by hand, in any order. */
function handStore() {
  const answers: Record<'start' | 'finish', { resolve: (saved: boolean) => void; reject: (err: Error) => void } | null> = { start: null, finish: null };
  const call = (method: 'start' | 'finish') => (_task: WireTask, _fence: Fence) =>
    new Promise<boolean>((resolve, reject) => (answers[method] = { resolve, reject }));
  const store = { start: call('start'), finish: call('finish') } as unknown as TaskStore;
  return { store, answers };
}

interface Run extends FencedRun {
  token: number;
  leaseUntil: number;
  handedBack: boolean;
}

function setUp() {
  const { store, answers } = handStore();
  const told: string[] = [];
  const writer = new StoreWriter<Run>(store, 'w1', getLogger('spec.store-writer'), (_run, reason) => told.push(`lost: ${reason}`), {
    started: (_run, owned) => told.push(`started: ${owned}`),
    recorded: (_run, error) => told.push(error === null ? 'recorded' : `not recorded: ${(error as Error).message}`),
  });
  const task = wireTask({ status: STARTED, worker: 'w1' });
  // The lease is over already: a failed write is not tried again.
  const run: Run = { id: task.id, token: 1, leaseUntil: 0, handedBack: false, startOwned: null, afterStart: null };
  return { answers, told, writer, task, run };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('StoreWriter', () => {
  it('reads an outcome answered before its start once the start was answered', async () => {
    const { answers, told, writer, task, run } = setUp();
    writer.start(run, task);
    writer.outcome(run, 'finish', { ...task, status: SUCCESS }, true);
    answers.finish?.resolve(true);
    await turn();
    expect(told).to.deep.equal([]);
    expect(run.afterStart).to.be.a('function');
    answers.start?.resolve(true);
    await turn();
    expect(told).to.deep.equal(['started: true', 'recorded']);
    expect(run.startOwned).to.equal(true);
    expect(run.afterStart).to.equal(null);
  });

  it('reports a refused start, whatever the outcome answered, and before or after it', async () => {
    const late = setUp();
    late.writer.start(late.run, late.task);
    late.writer.outcome(late.run, 'finish', { ...late.task, status: SUCCESS }, true);
    late.answers.finish?.resolve(true);
    await turn();
    late.answers.start?.resolve(false);
    await turn();
    expect(late.told).to.deep.equal(['started: false', 'lost: its start was refused', 'recorded']);

    const early = setUp();
    early.writer.start(early.run, early.task);
    early.writer.outcome(early.run, 'finish', { ...early.task, status: SUCCESS }, true);
    early.answers.start?.resolve(false);
    await turn();
    early.answers.finish?.reject(new Error('store down'));
    await turn();
    expect(early.told).to.deep.equal(['started: false', 'lost: its start was refused', 'recorded']);
  });

  it('reports an outcome fenced off, and one that failed as not recorded, when the start was saved', async () => {
    const fenced = setUp();
    fenced.writer.start(fenced.run, fenced.task);
    fenced.answers.start?.resolve(true);
    await turn();
    fenced.writer.outcome(fenced.run, 'finish', { ...fenced.task, status: SUCCESS }, true);
    fenced.answers.finish?.resolve(false);
    await turn();
    expect(fenced.told).to.deep.equal(['started: true', 'lost: its outcome was fenced off (another delivery owns the task)', 'recorded']);

    const failed = setUp();
    failed.writer.start(failed.run, failed.task);
    failed.writer.outcome(failed.run, 'finish', { ...failed.task, status: SUCCESS }, true);
    failed.answers.finish?.reject(new Error('store down'));
    await turn();
    expect(failed.told).to.deep.equal([]);
    failed.answers.start?.resolve(true);
    await turn();
    expect(failed.told).to.deep.equal(['started: true', 'not recorded: store down']);
  });

  it('writes an outcome without a start as saved or fenced off, and nothing for a run handed back', async () => {
    const alone = setUp();
    alone.writer.outcome(alone.run, 'finish', { ...alone.task, status: SUCCESS }, false);
    alone.answers.finish?.resolve(true);
    await turn();
    expect(alone.told).to.deep.equal(['recorded']);

    const back = setUp();
    back.run.handedBack = true;
    back.writer.outcome(back.run, 'finish', { ...back.task, status: SUCCESS }, true);
    expect(back.answers.finish).to.equal(null);
    expect(back.told).to.deep.equal(['recorded']);
  });
});
