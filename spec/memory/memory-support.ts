/**
 * Helpers of the MemoryStore specs: wire tasks built by hand, and a clock the spec moves.
 */
import { QUEUED } from '../../src/model/states.js';
import type { WireTask } from '../../src/model/task.js';

let made = 0;

/** A queued wire task of job `addition`, stamped with `nowMs` (the producer's clock). */
export function wireTask(fields: Partial<WireTask> = {}, nowMs = Date.now()): WireTask {
  made += 1;
  return {
    id: `t${made}-${Math.random().toString(36).slice(2, 8)}`,
    name: 'addition',
    status: QUEUED,
    kwargs: { a: 1, b: 2 },
    result: null,
    stacktrace: null,
    time_queued: nowMs / 1000,
    time_started: null,
    time_ended: null,
    expiry: null,
    lock_id: null,
    from_task: null,
    worker: null,
    retries: 0,
    meta: {},
    priority: 0,
    eta: null,
    max_retries: 0,
    retry_delay: 0,
    timeout: null,
    redeliveries: 0,
    ...fields,
  };
}

/** A clock a spec sets and moves by hand (epoch ms). */
export class ManualClock {
  constructor(public ms = Date.now()) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}
