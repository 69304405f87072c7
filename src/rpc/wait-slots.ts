/**
 * A bound on the requests that may wait at once (`wait_for_task`): each holds an HTTP connection
 * and a waiter for as long as it waits, so their number is capped per server.
 */
import { RpcError, RPC_CODES } from './protocol.js';

/** Counts the waiting requests of one server and refuses one past the cap. */
export class WaitSlots {
  private taken = 0;

  constructor(readonly max: number) {}

  /** Requests waiting now. */
  get waiting(): number {
    return this.taken;
  }

  /** Takes a slot, or throws RpcError -32002 (Server busy); returns the function that frees it (once). */
  take(): () => void {
    if (this.taken >= this.max) {
      throw new RpcError(RPC_CODES.SERVER_BUSY, `Server busy: ${this.max} requests are already waiting for tasks (maxWaiters); try again later`, { type: 'ServerBusy' });
    }
    this.taken++;
    let released = false;
    return () => {
      if (!released) this.taken--;
      released = true;
    };
  }
}
