/**
 * Calls carried elsewhere (an actor's mailbox, an IPC channel) that wait for their answers,
 * correlated by a request id this side mints in sequence: two pending calls never share an id
 * (nact's temporary references draw random 32-bit ids, and a collision misroutes a reply).
 *
 * One timer, armed for the earliest deadline, fails the calls whose answer did not come in time,
 * instead of a timer per call: that was a timer set and cleared per call on the hot path, for
 * deadlines of tens of seconds that almost never pass. While no call waits, the timer stays but
 * is unref'd (it keeps no process alive, and fires once to find nothing): clearing it and making a
 * new one each time the table went idle was a timer per batch of calls. `close` clears it.
 */

interface PendingCall {
  what: string;
  timeoutMs: number;
  deadline: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** The pending calls of one client. */
export class CallTable {
  private readonly pending = new Map<number, PendingCall>();
  private nextRid = 1;
  private sweeper: NodeJS.Timeout | null = null;
  private sweepAt = Infinity;

  /** `timedOut` makes the error of a call that got no answer within its time. */
  constructor(private readonly timedOut: (what: string, timeoutMs: number) => Error) {}

  /** Calls waiting for an answer. */
  get size(): number {
    return this.pending.size;
  }

  /** Registers a call; returns its id (to send along) and the promise of its answer. */
  add(what: string, timeoutMs: number): { rid: number; answer: Promise<unknown> } {
    const rid = this.nextRid++;
    const answer = new Promise<unknown>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      this.pending.set(rid, { what, timeoutMs, deadline, resolve, reject });
      this.arm(deadline);
    });
    return { rid, answer };
  }

  /** The answer of call `rid` arrived (ignored when the call is unknown or already timed out). */
  resolve(rid: number, value: unknown): void {
    const call = this.pending.get(rid);
    if (!call) return;
    this.pending.delete(rid);
    this.disarmIfIdle();
    call.resolve(value);
  }

  /** Call `rid` failed. */
  reject(rid: number, error: Error): void {
    const call = this.pending.get(rid);
    if (!call) return;
    this.pending.delete(rid);
    this.disarmIfIdle();
    call.reject(error);
  }

  /** No call waits: the timer no longer keeps the process alive. */
  private disarmIfIdle(): void {
    if (this.pending.size || !this.sweeper) return;
    this.sweeper.unref();
  }

  /** Fails every pending call with `error` and stops the timer. */
  close(error?: Error): void {
    if (this.sweeper) clearTimeout(this.sweeper);
    this.sweeper = null;
    this.sweepAt = Infinity;
    if (!error) return;
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.reject(error);
  }

  private arm(deadline: number): void {
    if (deadline >= this.sweepAt) {
      this.sweeper?.ref();
      return;
    }
    if (this.sweeper) clearTimeout(this.sweeper);
    this.sweepAt = deadline;
    this.sweeper = setTimeout(() => this.sweep(), Math.max(0, deadline - Date.now()));
  }

  /** Fails the calls past their deadline, then waits for the next one. */
  private sweep(): void {
    this.sweeper = null;
    this.sweepAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [rid, call] of this.pending) {
      if (call.deadline > now) {
        next = Math.min(next, call.deadline);
        continue;
      }
      this.pending.delete(rid);
      call.reject(this.timedOut(call.what, call.timeoutMs));
    }
    if (next < Infinity) this.arm(next);
  }
}
