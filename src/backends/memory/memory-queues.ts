/**
 * The queue structures of MemoryStore: a FIFO with O(1) shift, ready tickets by priority, delayed
 * tickets by due time (the store decides what a ticket still means), parked long-poll pulls, and
 * event subscribers.
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
  /** Keeps only the items `keep` accepts, in order. */
  retain(keep: (item: T) => boolean): void {
    this.items = this.items.slice(this.head).filter(keep);
    this.head = 0;
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
  /** Due time, store clock (epoch ms); 0 when due at once. */
  readonly at: number;
  /** Higher goes first. */
  readonly priority: number;
  /** The task's place in queueing order, kept when it is queued again: ties go oldest first. */
  readonly order: number;
}

/**
 * Ready tickets: highest priority first, then oldest queued. A task queued again (retried, handed
 * back, recovered, or due after a delay) takes its old place.
 *
 * Tickets mostly arrive in queueing order (new tasks): each priority has a FIFO that takes a
 * ticket queued after its last one (O(1) push and take, no comparisons); any other ticket (one
 * queued again, older than the FIFO's last) goes to a heap (O(log N)). A take compares the heads.
 */
export class ReadyTickets<T extends Ticket> {
  private readonly heap = new BinaryHeap<T>(readyFirst);
  /** FIFOs by priority, each sorted by order; `priorities` lists their keys, highest first. */
  private readonly fifos = new Map<number, Fifo<T>>();
  private priorities: number[] = [];
  private lastOrder = new Map<number, number>();
  private inFifos = 0;

  /** Tickets held, stale ones included. */
  get size(): number {
    return this.heap.size + this.inFifos;
  }

  push(ticket: T): void {
    const last = this.lastOrder.get(ticket.priority);
    if (last !== undefined && ticket.order <= last) {
      this.heap.push(ticket);
      return;
    }
    let fifo = this.fifos.get(ticket.priority);
    if (!fifo) {
      // A bounded number of levels: tickets of further priorities go to the heap.
      if (this.fifos.size >= MAX_LEVELS) {
        this.heap.push(ticket);
        return;
      }
      this.fifos.set(ticket.priority, (fifo = new Fifo<T>()));
      this.priorities = [...this.fifos.keys()].sort((a, b) => b - a);
    }
    fifo.push(ticket);
    this.lastOrder.set(ticket.priority, ticket.order);
    this.inFifos += 1;
  }

  /** Keeps only the tickets `live` accepts (O(N): call it when stale ones outnumber live ones). */
  retain(live: (ticket: T) => boolean): void {
    this.heap.retain(live);
    this.inFifos = 0;
    for (const fifo of this.fifos.values()) {
      fifo.retain(live);
      this.inFifos += fifo.length;
    }
  }

  /** Takes tickets in order until `max` were accepted; tickets `accept` refuses are dropped. */
  take(max: number, accept: (ticket: T) => boolean): T[] {
    const out: T[] = [];
    while (out.length < max) {
      const ticket = this.next();
      if (ticket === undefined) break;
      if (accept(ticket)) out.push(ticket);
    }
    return out;
  }

  clear(): void {
    this.heap.clear();
    this.fifos.clear();
    this.priorities = [];
    this.lastOrder.clear();
    this.inFifos = 0;
  }

  /** Removes and returns the first ticket (FIFO heads and the heap top compared), if any. */
  private next(): T | undefined {
    let fifo: Fifo<T> | undefined;
    for (const priority of this.priorities) {
      const candidate = this.fifos.get(priority) as Fifo<T>;
      if (candidate.length) {
        fifo = candidate;
        break;
      }
    }
    const head = fifo?.peek();
    const top = this.heap.peek();
    if (head !== undefined && (top === undefined || readyFirst(head, top))) {
      this.inFifos -= 1;
      return (fifo as Fifo<T>).shift();
    }
    return this.heap.pop();
  }
}

/** Priorities that get a FIFO of their own (a take looks at each of them). */
const MAX_LEVELS = 16;

/** Highest priority first, then oldest queued. */
function readyFirst(a: Ticket, b: Ticket): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.order < b.order);
}

/** Delayed tickets by due time, then order: O(log N) add and pop. */
export class DelayedTickets<T extends Ticket> {
  private readonly heap = new BinaryHeap<T>((a, b) => a.at < b.at || (a.at === b.at && a.order < b.order));

  get size(): number {
    return this.heap.size;
  }

  add(ticket: T): void {
    this.heap.push(ticket);
  }

  /** Removes and returns the tickets due at `now` (stale ones included: the caller checks). */
  popDue(now: number): T[] {
    const out: T[] = [];
    for (let top = this.heap.peek(); top && top.at <= now; top = this.heap.peek()) out.push(this.heap.pop() as T);
    return out;
  }

  /** Due time of the first ticket still `live`, dropping stale ones from the top. */
  firstAt(live: (ticket: T) => boolean): number | undefined {
    for (let top = this.heap.peek(); top; top = this.heap.peek()) {
      if (live(top)) return top.at;
      this.heap.pop();
    }
    return undefined;
  }

  /** Keeps only the `live` tickets (O(N): call it when stale ones outnumber live ones). */
  retain(live: (ticket: T) => boolean): void {
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

/**
 * Listeners of a store's events, each called after the store call that emitted, never inside it.
 * A listener may name the events it wants (a set its owner may change later): no other event is
 * queued for it. The events of one stretch of synchronous store work reach the listeners from one
 * microtask, in order.
 */
export class Subscribers<E, I> {
  private readonly listeners = new Map<(event: E, id: I) => void, ReadonlySet<E> | null>();
  private pendingEvents: E[] = [];
  private pendingIds: I[] = [];

  emit(event: E, id: I): void {
    if (!this.wanted(event)) return;
    if (!this.pendingEvents.length) queueMicrotask(this.deliver);
    this.pendingEvents.push(event);
    this.pendingIds.push(id);
  }

  /** Adds `listener` (of the events in `events` only, when given: a live set); resolves to its removal. */
  add(listener: (event: E, id: I) => void, events: ReadonlySet<E> | null = null): () => Promise<void> {
    this.listeners.set(listener, events);
    return async () => {
      this.listeners.delete(listener);
    };
  }

  clear(): void {
    this.listeners.clear();
  }

  private wanted(event: E): boolean {
    for (const events of this.listeners.values()) if (events === null || events.has(event)) return true;
    return false;
  }

  private readonly deliver = (): void => {
    const events = this.pendingEvents;
    const ids = this.pendingIds;
    this.pendingEvents = [];
    this.pendingIds = [];
    for (let i = 0; i < events.length; i++) {
      const event = events[i] as E;
      for (const [listener, wanted] of this.listeners) if (wanted === null || wanted.has(event)) listener(event, ids[i] as I);
    }
  };
}
