/**
 * The queue structures of MemoryStore: a FIFO with O(1) shift, ready tickets by priority, and
 * delayed tickets by due time. The store decides what a ticket still means.
 */
import { BinaryHeap } from './binary-heap.js';

/** First in, first out, with O(1) shift (a moving head, compacted now and then). */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/**
 * One enqueueing of a task. The store keeps the ticket of each waiting task; a ticket the store
 * no longer keeps (revoked, flushed, queued again) is stale, and the queues drop it when they
 * meet it (lazy deletion: revoking never searches a queue).
 */
export interface Ticket {
  readonly id: string;
  /** Due time, store clock (epoch ms); 0 when due at once. */
  readonly at: number;
  /** Enqueueing order: ties of priority or due time go oldest first. */
  readonly order: number;
}

/** Ready tickets: highest priority first, then oldest. O(log P) per push (P distinct priorities). */
export class PriorityQueues {
  private readonly byPriority = new Map<number, Fifo<Ticket>>();
  /** Priorities present, highest on top. */
  private readonly priorities = new BinaryHeap<number>((a, b) => a > b);

  push(ticket: Ticket, priority: number): void {
    let fifo = this.byPriority.get(priority);
    if (!fifo) {
      this.byPriority.set(priority, (fifo = new Fifo()));
      this.priorities.push(priority);
    }
    fifo.push(ticket);
  }

  /** Shifts tickets in order until `max` were accepted; tickets `accept` refuses are dropped. */
  take(max: number, accept: (ticket: Ticket) => boolean): Ticket[] {
    const out: Ticket[] = [];
    while (out.length < max) {
      const priority = this.priorities.peek();
      if (priority === undefined) break;
      const fifo = this.byPriority.get(priority) as Fifo<Ticket>;
      const ticket = fifo.shift();
      if (ticket === undefined) {
        this.priorities.pop();
        this.byPriority.delete(priority);
        continue;
      }
      if (accept(ticket)) out.push(ticket);
    }
    return out;
  }

  clear(): void {
    this.byPriority.clear();
    this.priorities.clear();
  }
}

/** Delayed tickets by due time, then order: O(log N) add and pop. */
export class DelayedTickets {
  private readonly heap = new BinaryHeap<Ticket>((a, b) => a.at < b.at || (a.at === b.at && a.order < b.order));

  get size(): number {
    return this.heap.size;
  }

  add(ticket: Ticket): void {
    this.heap.push(ticket);
  }

  /** Removes and returns the tickets due at `now` (stale ones included: the caller checks). */
  popDue(now: number): Ticket[] {
    const out: Ticket[] = [];
    for (let top = this.heap.peek(); top && top.at <= now; top = this.heap.peek()) out.push(this.heap.pop() as Ticket);
    return out;
  }

  /** Due time of the first ticket still `live`, dropping stale ones from the top. */
  firstAt(live: (ticket: Ticket) => boolean): number | undefined {
    for (let top = this.heap.peek(); top; top = this.heap.peek()) {
      if (live(top)) return top.at;
      this.heap.pop();
    }
    return undefined;
  }

  /** Keeps only the `live` tickets (O(N): call it when stale ones outnumber live ones). */
  retain(live: (ticket: Ticket) => boolean): void {
    this.heap.retain(live);
  }

  clear(): void {
    this.heap.clear();
  }
}

/** A pull waiting for work: its request, and how to answer it. */
interface Parked<R, T> {
  request: R;
  resolve: (items: T[]) => void;
  timer: NodeJS.Timeout;
}

/**
 * Long-polling pulls, answered in arrival order as soon as `serve` finds work for them, or with
 * nothing when their wait ends, their worker is interrupted, or the store closes.
 */
export class ParkedPulls<R extends { worker: string; waitMs: number }, T> {
  private parked: Parked<R, T>[] = [];

  /** Parks `request` for up to its `waitMs`. */
  park(request: R): Promise<T[]> {
    return new Promise((resolve) => {
      const entry: Parked<R, T> = {
        request,
        resolve,
        timer: setTimeout(() => {
          this.parked = this.parked.filter((p) => p !== entry);
          resolve([]);
        }, request.waitMs),
      };
      this.parked.push(entry);
    });
  }

  /** Answers parked pulls in order while `take` finds work for them. */
  serve(take: (request: R) => T[]): void {
    while (this.parked.length) {
      const entry = this.parked[0] as Parked<R, T>;
      const items = take(entry.request);
      if (!items.length) return;
      this.parked.shift();
      clearTimeout(entry.timer);
      entry.resolve(items);
    }
  }

  /** Answers with nothing every parked pull of `worker` (or of everyone). */
  cancel(worker?: string): void {
    for (const entry of this.parked) {
      if (worker !== undefined && entry.request.worker !== worker) continue;
      clearTimeout(entry.timer);
      entry.resolve([]);
    }
    this.parked = worker === undefined ? [] : this.parked.filter((p) => p.request.worker !== worker);
  }
}
