/**
 * The arguments of queue.lua: per task the values the script needs (lock, eta, expiry and the
 * producer's time queued in ms, queue score, idempotency key, job name) and its fields, plus a
 * periodic claim when the script also claims a run (TaskStore.claimRun).
 */
import type { WireTask } from '../../model/task.js';
import { encodeTask, WIRE_KEYS, type RedisKeys } from './redis-codec.js';

/** A periodic run to claim in the same script. */
export interface RunClaim {
  name: string;
  previousMs: number | null;
  ranAtMs: number;
}

/** The ARGV of one queue.lua run. */
export function queueArgs(
  keys: RedisKeys,
  tasks: readonly WireTask[],
  idempotencyKeys: readonly (string | null)[] | undefined,
  windowMs: number,
  claim: RunClaim | null,
): (string | number)[] {
  const args: (string | number)[] = [
    keys.prefix,
    tasks.length,
    windowMs,
    claim?.name ?? '',
    claim?.previousMs == null ? '' : String(claim.previousMs),
    claim ? String(claim.ranAtMs) : '',
  ];
  tasks.forEach((t, i) => {
    const key = idempotencyKeys?.[i] ?? null;
    if (key !== null && (typeof key !== 'string' || !key)) {
      throw new TypeError(`An idempotency key must be a non-empty string or null, got ${JSON.stringify(key)}`);
    }
    args.push(
      t.id,
      t.lock_id ?? '',
      t.eta !== null ? Math.round(t.eta * 1000) : '',
      t.expiry !== null ? Math.round(t.expiry * 1000) : '',
      String(-t.priority || 0),
      Math.round(t.time_queued * 1000),
      key ?? '',
      t.name,
      WIRE_KEYS.length,
      ...encodeTask(t),
    );
  });
  return args;
}
