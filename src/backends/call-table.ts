/**
 * Calls carried elsewhere (an actor's mailbox, an IPC channel) that wait for their answers,
 * correlated by a request id this side mints in sequence: two pending calls never share an id
 * (nact's temporary references draw random 32-bit ids, and a collision misroutes a reply).
 *
 * The pending calls sit in an array indexed by id (ids are minted in sequence and mostly answered
 * in order), not a Map: a Map of a few dozen calls that fills and empties with every batch rehashed
 * its table again and again (about 150 bytes of garbage per call, on every store call of every
 * task). A call left unanswered long behind newer ones (a parked pull) would pin the array's head:
 * once the array is mostly answered slots, the calls still pending move to a Map of stragglers.
 *
 * One timer, armed for the earliest deadline, fails the calls whose answer did not come in time,
 * instead of a timer per call: that was a timer set and cleared per call on the hot path, for
 * deadlines of tens of seconds that almost never pass. While no call waits, the timer stays but
 * is unref'd (it keeps no process alive, and fires once to find nothing): clearing it and making a
 * new one each time the table went idle was a timer per batch of calls. `close` clears it.
 */

interface PendingCall {
  readonly what: string;
  readonly timeoutMs: number;
  readonly deadline: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** Answered slots the array may hold before it is trimmed or rebuilt. */
const REBUILD_AT = 4096;

/** The pending calls of one client. */
export class CallTable {
  /** The calls from id `base` on (undefined: answered); `head` is the first that may be pending. */
  private slots: (PendingCall | undefined)[] = [];
  private base = 1;
  private head = 0;
  /** Pending calls moved out of `slots` (ids below `base`). */
  private stragglers: Map<number, PendingCall> | null = null;
  private count = 0;
  private nextRid = 1;
  private sweeper: NodeJS.Timeout | null = null;
  private sweepAt = Infinity;

  /** `timedOut` makes the error of a call that got no answer within its time. */
  constructor(private readonly timedOut: (what: string, timeoutMs: number) => Error) {}

  /** Calls waiting for an answer. */
  get size(): number {
    return this.count;
  }

  /** Registers a call; returns its id (to send along) and the promise of its answer. */
  add(what: string, timeoutMs: number): { rid: number; answer: Promise<unknown> } {
    const rid = this.nextRid++;
    const deadline = Date.now() + timeoutMs;
    const call: PendingCall = { what, timeoutMs, deadline, resolve: noop, reject: noop };
    const answer = new Promise<unknown>((resolve, reject) => {
      call.resolve = resolve;
      call.reject = reject;
    });
    if (this.count === 0 && this.stragglers === null) {
      // Nothing pending: the array starts over at this id.
      this.slots.length = 0;
      this.base = rid;
      this.head = 0;
    }
    this.slots.push(call);
    this.count += 1;
    this.arm(deadline);
    return { rid, answer };
  }

  /** The answer of call `rid` arrived (ignored when the call is unknown or already timed out). */
  resolve(rid: number, value: unknown): void {
    this.take(rid)?.resolve(value);
  }

  /** Call `rid` failed. */
  reject(rid: number, error: Error): void {
    this.take(rid)?.reject(error);
  }

  /** Takes the pending call `rid` out of the table (undefined when it is not pending). */
  private take(rid: number): PendingCall | undefined {
    let call: PendingCall | undefined;
    const at = rid - this.base;
    if (at >= 0) {
      call = this.slots[at];
      if (!call) return undefined;
      this.slots[at] = undefined;
      this.count -= 1;
      this.advance();
    } else {
      call = this.stragglers?.get(rid);
      if (!call) return undefined;
      (this.stragglers as Map<number, PendingCall>).delete(rid);
      if (!this.stragglers?.size) this.stragglers = null;
      this.count -= 1;
    }
    // No call waits: the timer no longer keeps the process alive.
    if (this.count === 0) this.sweeper?.unref();
    return call;
  }

  /**
   * Moves the head past answered calls, and keeps the array from filling with answered slots:
   * those ahead of the first pending call are dropped once they are many, and when a call pending
   * long (a parked pull) holds thousands of answered slots behind it, the calls still pending move
   * to the stragglers and the array starts over.
   */
  private advance(): void {
    const slots = this.slots;
    let head = this.head;
    while (head < slots.length && slots[head] === undefined) head += 1;
    this.head = head;
    if (head === slots.length) {
      this.base += head;
      slots.length = 0;
      this.head = 0;
      return;
    }
    if (head >= REBUILD_AT) {
      slots.copyWithin(0, head);
      slots.length -= head;
      this.base += head;
      this.head = 0;
      return;
    }
    const span = slots.length - head;
    const live = this.count - (this.stragglers?.size ?? 0);
    if (span < REBUILD_AT || live * 4 >= span) return;
    const stragglers = (this.stragglers ??= new Map());
    for (let i = head; i < slots.length; i++) {
      const call = slots[i];
      if (call) stragglers.set(this.base + i, call);
    }
    this.base += slots.length;
    slots.length = 0;
    this.head = 0;
  }

  /** Every pending call with its id. */
  private *pending(): Generator<[number, PendingCall]> {
    if (this.stragglers) yield* this.stragglers;
    for (let i = this.head; i < this.slots.length; i++) {
      const call = this.slots[i];
      if (call) yield [this.base + i, call];
    }
  }

  /** Fails every pending call with `error` and stops the timer. */
  close(error?: Error): void {
    if (this.sweeper) clearTimeout(this.sweeper);
    this.sweeper = null;
    this.sweepAt = Infinity;
    if (!error) return;
    const calls = [...this.pending()].map(([, call]) => call);
    this.slots.length = 0;
    this.base = this.nextRid;
    this.head = 0;
    this.stragglers = null;
    this.count = 0;
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
    const expired: [number, PendingCall][] = [];
    for (const entry of this.pending()) {
      const deadline = entry[1].deadline;
      if (deadline > now) next = Math.min(next, deadline);
      else expired.push(entry);
    }
    for (const [rid, call] of expired) {
      this.take(rid);
      call.reject(this.timedOut(call.what, call.timeoutMs));
    }
    if (next < Infinity) this.arm(next);
  }
}

function noop(): void {}
