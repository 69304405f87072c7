/**
 * Wire tasks built by hand for the store-level specs, as a producer builds them (its own clock in
 * time_queued): a QUEUED task of job `addition`, with `fields` over it.
 */
import { newTaskId } from '../../src/job/ids.js';
import { QUEUED } from '../../src/model/states.js';
import type { WireTask } from '../../src/model/task.js';

/** A QUEUED wire task stamped with `nowMs`, with `fields` over it (a fresh id as a producer makes them, unless given). */
export function wireTask(fields: Partial<WireTask> = {}, nowMs = Date.now()): WireTask {
  return {
    id: newTaskId(),
    name: 'addition',
    status: QUEUED,
    kwargs: {},
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
