/**
 * Deadlines: callbacks due after a delay, all served by one Node timer. Adding or cancelling one
 * makes no call into Node's timers: a producer waiting for one task at a time would otherwise
 * create, schedule and clear two timers per wait (its timeout and its safety re-read), each a
 * timer list made and dropped, a priority-queue update and a call into libuv.
 *
 * Deadlines of one delay are due in the order they were added (the clock only moves forward): each
 * delay keeps a doubly linked list, and the one timer is armed for the earliest head. A cancelled
 * deadline is unlinked at once (nothing it refers to is kept). The timer is left armed when the
 * deadline it was armed for is cancelled: it re-arms for the next head when it fires, so a steady
 * stream of waits that end early costs no timer call at all.
 */
import { performance } from 'node:perf_hooks';
import { timerDelay } from './timers.js';

/** A deadline to cancel. */
export interface Deadline {
  cancel(): void;
}

interface Entry extends Deadline {
  at: number;
  fn: (() => void) | null;
  prev: Entry | null;
  next: Entry | null;
  list: DelayList;
  keepsAlive: boolean;
}

interface DelayList {
  readonly delay: number;
  head: Entry | null;
  tail: Entry | null;
}

export class Deadlines {
  private readonly lists = new Map<number, DelayList>();
  private timer: NodeJS.Timeout | null = null;
  /** performance.now() the timer is armed for (Infinity when none). */
  private armedAt = Number.POSITIVE_INFINITY;
  /** Pending deadlines that keep the process alive (the timer is ref'd while there are some). */
  private alive = 0;

  /**
   * Calls `fn` once, `delayMs` from now, unless cancelled first. `keepsAlive`: a pending one keeps
   * the process alive, as a Node timer does; else it is like an unref'd timer.
   */
  add(delayMs: number, fn: () => void, keepsAlive = true): Deadline {
    const delay = timerDelay(delayMs);
    let list = this.lists.get(delay);
    if (!list) this.lists.set(delay, (list = { delay, head: null, tail: null }));
    const entry: Entry = {
      at: performance.now() + delay,
      fn,
      prev: list.tail,
      next: null,
      list,
      keepsAlive,
      cancel: () => this.remove(entry),
    };
    if (list.tail) list.tail.next = entry;
    else list.head = entry;
    list.tail = entry;
    if (keepsAlive && this.alive++ === 0) this.timer?.ref();
    if (entry.at < this.armedAt) this.arm(entry.at);
    return entry;
  }

  /** How many deadlines are pending. */
  get size(): number {
    let n = 0;
    for (const list of this.lists.values()) for (let e = list.head; e; e = e.next) n += 1;
    return n;
  }

  private remove(entry: Entry): void {
    if (!entry.fn) return;
    entry.fn = null;
    const { list } = entry;
    if (entry.prev) entry.prev.next = entry.next;
    else list.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else list.tail = entry.prev;
    entry.prev = entry.next = null;
    if (entry.keepsAlive && --this.alive === 0) this.timer?.unref();
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedAt = at;
    this.timer = setTimeout(() => this.fire(), timerDelay(Math.ceil(at - performance.now())));
    if (this.alive === 0) this.timer.unref();
  }

  /** Runs the deadlines due, then arms the timer for the next one (if any). */
  private fire(): void {
    this.timer = null;
    this.armedAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    const due: { at: number; fn: () => void }[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const [delay, list] of this.lists) {
      while (list.head && list.head.at <= now) {
        const entry = list.head;
        due.push({ at: entry.at, fn: entry.fn as () => void });
        this.remove(entry);
      }
      if (list.head) next = Math.min(next, list.head.at);
      else this.lists.delete(delay);
    }
    // Armed before the callbacks run: one that adds a deadline compares against it.
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
    // In the order they were due (several delays may be due at once after a long turn).
    if (due.length > 1) due.sort((a, b) => a.at - b.at);
    for (const { fn } of due) {
      try {
        fn();
      } catch (err) {
        // Thrown as from a timer of its own (an uncaught exception), without keeping the others.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
