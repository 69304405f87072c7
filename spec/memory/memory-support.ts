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

/** A small deterministic pseudo-random generator (mulberry32): the same seed, the same run. */
export function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
