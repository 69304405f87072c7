/**
 * Ending a worker's blocking wait at a delayed task's eta. Redis answers a BLPOP whose timeout
 * passed on its next cron tick, not at the timeout: every 100 ms at its default `hz` of 10 (a wait
 * of 10 ms ended after 99, one of 310 after 400). A wait that must end when the next delayed task
 * is due therefore ends here, on this process's clock: a token on the worker's own nudge list
 * wakes its BLPOP, and the pull script sent behind it runs at once (redis-pull.ts). The BLPOP's own
 * timeout stays as a backstop, ETA_BACKSTOP_MS later, should the token not get through.
 */
import type { Deadline, Deadlines } from '../../infra/deadlines.js';
import type { RedisKeys } from './redis-codec.js';
import type { RedisLink } from './redis-link.js';

/** How much later than the eta the BLPOP times out by itself (ms). */
export const ETA_BACKSTOP_MS = 250;

/** How long a token nobody takes stays on the nudge list (ms): as lua/_lib.lua's nudge. */
const NUDGE_TTL_MS = 60_000;

/**
 * Pushes a token on `worker`'s nudge list in `ms` (unless cancelled first). A token that comes after
 * the wait ended otherwise is taken by the worker's next wait (one pull that finds nothing) or
 * dropped by its next pull that finds the queue drained.
 */
export function wakeAtEta(link: RedisLink, keys: RedisKeys, deadlines: Deadlines, worker: string, ms: number): Deadline {
  const key = keys.nudge(worker);
  return deadlines.add(
    ms,
    () => {
      if (link.isClosed) return;
      // Unanswered (the store is down): the BLPOP's own timeout ends the wait.
      void link.run((r) => r.multi().lpush(key, '1').pexpire(key, NUDGE_TTL_MS).exec()).catch(() => undefined);
    },
    false,
  );
}
