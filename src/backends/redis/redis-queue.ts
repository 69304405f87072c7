/**
 * The arguments of queue.lua: per task its id, the options the script needs when it has some (lock,
 * eta, expiry and the producer's time queued in ms, queue score, idempotency key) and its fields,
 * plus a periodic claim when the script also claims a run (TaskStore.claimRun).
 */
import type { WireTask } from '../../model/task.js';
import { encodeNewTask, type RedisKeys } from './redis-codec.js';
import type { RedisClient } from './redis-link.js';
import { scripts } from './redis-scripts.js';

/** Fields queue.lua writes itself: time_queued and status always, eta and expiry shifted to its clock. */
const STORE_WRITTEN = new Set(['time_queued', 'status', 'eta', 'expiry']);

/** A periodic run to claim in the same script. */
export interface RunClaim {
  name: string;
  previousMs: number | null;
  ranAtMs: number;
}

/**
 * Refuses a batch holding a task id that is empty or has a space (broadcasts carry space-separated
 * ids: redis-events.ts), a key list that is not one entry per task, or an idempotency key that is
 * neither null nor a non-empty string. Called on the whole batch before any of it is encoded or
 * sent: a bad item stores nothing (queueArgs trusts what it was checked by this).
 */
export function checkQueueable(tasks: readonly WireTask[], idempotencyKeys: readonly (string | null)[] | undefined): void {
  if (idempotencyKeys !== undefined && (!Array.isArray(idempotencyKeys) || idempotencyKeys.length !== tasks.length)) {
    throw new TypeError(`idempotencyKeys must have one entry (a key or null) per task: ${tasks.length} tasks`);
  }
  tasks.forEach((t, i) => {
    if (typeof t.id !== 'string' || !t.id || /\s/.test(t.id)) throw new TypeError(`A task id must be a non-empty string without spaces, got ${JSON.stringify(t.id)}`);
    const key = idempotencyKeys?.[i] ?? null;
    if (key !== null && (typeof key !== 'string' || !key)) {
      throw new TypeError(`An idempotency key must be a non-empty string or null, got ${JSON.stringify(key)}`);
    }
  });
}

/**
 * The index in queue.lua's ARGV array (0-based) of its fresh-ids flag: '1' when the script need not
 * look for a task already stored under each id (QueueRequestOptions.freshIds, first send only).
 */
const FRESH_ARG = 6;

/**
 * The ARGV of one queue.lua run, its tasks and keys checked by checkQueueable. `freshIds`: the ids
 * were just made and this run is their first send (queueRun sends it again with the check).
 */
export function queueArgs(
  keys: RedisKeys,
  tasks: readonly WireTask[],
  idempotencyKeys: readonly (string | null)[] | undefined,
  windowMs: number,
  claim: RunClaim | null,
  freshIds = false,
): (string | number)[] {
  const args: (string | number)[] = [
    keys.prefix,
    tasks.length,
    windowMs,
    claim?.name ?? '',
    claim?.previousMs == null ? '' : String(claim.previousMs),
    claim ? String(claim.ranAtMs) : '',
    freshIds ? '1' : '',
  ];
  tasks.forEach((t, i) => {
    const key = idempotencyKeys?.[i] ?? null;
    const score = -t.priority || 0;
    // A task with no options sends none of them (most tasks: fewer arguments to encode and parse).
    if (t.lock_id == null && t.eta == null && t.expiry == null && score === 0 && key === null) {
      args.push(t.id, '');
    } else {
      args.push(
        t.id,
        '1',
        t.lock_id ?? '',
        t.eta !== null ? Math.round(t.eta * 1000) : '',
        t.expiry !== null ? Math.round(t.expiry * 1000) : '',
        String(score),
        Math.round(t.time_queued * 1000),
        key ?? '',
      );
    }
    const fields = encodeNewTask(t, STORE_WRITTEN);
    args.push(fields.length / 2);
    for (const field of fields) args.push(field);
  });
  return args;
}

/**
 * One queue.lua run of `args` (queueArgs), for RedisLink.run. Only its first send may skip the
 * stored-task check: were it run again, or written again by the client (a Cluster client resends a
 * command in flight when its node's connection closes, though Redis may have run it), it checks,
 * and a task stored by the first send is not queued a second time.
 */
export function queueRun(queueKey: string, args: readonly (string | number)[]): (redis: RedisClient) => Promise<unknown> {
  // Checked already (a claim, or ids not just made), so every send is the same.
  if (args[FRESH_ARG] !== '1') return (redis) => scripts.queue.run(redis, [queueKey], args);
  const checked = (): (string | number)[] => {
    const again = args.slice();
    again[FRESH_ARG] = '';
    return again;
  };
  let sent = false;
  return (redis) => {
    const first = !sent;
    sent = true;
    return scripts.queue.run(redis, [queueKey], first ? args : checked(), checked);
  };
}
