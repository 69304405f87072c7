/**
 * Helpers of the MemoryStore specs: wire tasks built by hand, and a clock the spec moves.
 */
import { wireTask as sharedWireTask } from '../support/wire-task.js';
import type { WireTask } from '../../src/model/task.js';

/** A queued wire task of job `addition` (kwargs a=1, b=2), stamped with `nowMs` (the producer's clock). */
export function wireTask(fields: Partial<WireTask> = {}, nowMs = Date.now()): WireTask {
  return sharedWireTask({ kwargs: { a: 1, b: 2 }, ...fields }, nowMs);
}

/** A clock a spec sets and moves by hand (epoch ms). */
export class ManualClock {
  constructor(public ms = Date.now()) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}
