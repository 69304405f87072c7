/**
 * The tasks of a MemoryStore that wait for a worker: ready ones in a heap by priority then
 * queueing order, delayed ones in a heap by due time, promoted by a timer armed for the soonest
 * (store clock). Each waiting entry holds the ticket of its latest enqueueing; ending a wait only
 * drops the ticket from the entry, and the queues skip stale tickets when they meet them.
 */
import { timerDelay } from '../../infra/timers.js';
import { DelayedTickets, ReadyTickets } from './memory-queues.js';
import type { Entry, WaitTicket } from './stored-tasks.js';

/** Queue entries allowed beyond twice the waiting tasks before a queue is rebuilt. */
const SLACK = 1024;

/** What waits for a worker in one store, and the timer that makes delayed tasks ready. */
export class WaitingTasks {
  private count = 0;
  private readonly ready = new ReadyTickets<WaitTicket>();
  private readonly delayed = new DelayedTickets<WaitTicket>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private closed = false;

  /** `onDue` runs when delayed tasks became ready on the timer. */
  constructor(
    private readonly clock: () => number,
    private readonly onDue: () => void,
  ) {}

  /** Tasks waiting, ready or delayed. */
  get size(): number {
    return this.count;
  }

  /** Makes a stored task wait (again), due at `at` (store clock, ms; 0: at once). */
  enqueue(entry: Entry, at: number, now: number): void {
    const ticket: WaitTicket = { entry, at, priority: entry.task.priority, order: entry.seq };
    if (entry.ticket === null) this.count += 1;
    entry.ticket = ticket;
    if (at <= now) {
      this.ready.push(ticket);
      return;
    }
    this.delayed.add(ticket);
    this.arm(at);
  }

  /** Ends the wait of an entry (revoked); false when it was not waiting. */
  unqueue(entry: Entry): boolean {
    if (!this.drop(entry)) return false;
    this.compact();
    return true;
  }

  /**
   * Ends the wait of up to `max` due entries, highest priority first, then oldest, that `accept`
   * takes (it sees each due entry once; one it refuses is no longer waiting either).
   */
  take(max: number, now: number, accept: (entry: Entry) => boolean): Entry[] {
    this.promote(now);
    const taken = this.ready.take(max, (ticket) => this.live(ticket) && this.drop(ticket.entry) && accept(ticket.entry));
    this.compact();
    return taken.map((ticket) => ticket.entry);
  }

  clear(): void {
    this.count = 0;
    this.ready.clear();
    this.delayed.clear();
    this.disarm();
  }

  close(): void {
    this.closed = true;
    this.disarm();
  }

  private readonly live = (ticket: WaitTicket): boolean => ticket.entry.ticket === ticket;

  private drop(entry: Entry): boolean {
    if (entry.ticket === null) return false;
    entry.ticket = null;
    this.count -= 1;
    return true;
  }

  /** Rebuilds a queue once its stale tickets outnumber the live ones (amortised O(1) per change). */
  private compact(): void {
    if (this.delayed.size > 2 * this.count + SLACK) this.delayed.retain(this.live);
    if (this.ready.size > 2 * this.count + SLACK) this.ready.retain(this.live);
  }

  private promote(now: number): void {
    for (const ticket of this.delayed.popDue(now)) {
      if (this.live(ticket)) this.ready.push(ticket);
    }
  }

  /** Arms the promotion timer for `at`, unless it fires sooner already. */
  private arm(at: number): void {
    if (this.closed || at >= this.timerAt) return;
    this.disarm();
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.promote(this.clock());
      this.onDue();
      const next = this.delayed.firstAt(this.live);
      if (next !== undefined) this.arm(next);
    }, timerDelay(at - this.clock()));
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }
}
