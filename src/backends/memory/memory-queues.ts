/**
 * The queue structures of MemoryStore: a FIFO with O(1) shift, ready ids by priority, and
 * delayed ids by due time. They hold ids only; the store decides what an id still means.
 */

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

/** Ready ids: highest priority first, then oldest. */
export class PriorityQueues {
  private readonly byPriority = new Map<number, Fifo<string>>();
  /** Sorted high → low. */
  private priorities: number[] = [];

  push(id: string, priority: number): void {
    let fifo = this.byPriority.get(priority);
    if (!fifo) {
      this.byPriority.set(priority, (fifo = new Fifo()));
      this.priorities.push(priority);
      this.priorities.sort((a, b) => b - a);
    }
    fifo.push(id);
  }

  /** Shifts ids in order until `max` were accepted; ids `accept` refuses are dropped. */
  take(max: number, accept: (id: string) => boolean): string[] {
    const out: string[] = [];
    for (const priority of this.priorities) {
      const fifo = this.byPriority.get(priority) as Fifo<string>;
      while (out.length < max && fifo.length) {
        const id = fifo.shift() as string;
        if (accept(id)) out.push(id);
      }
      if (out.length >= max) break;
    }
    return out;
  }

  clear(): void {
    this.byPriority.clear();
    this.priorities = [];
  }
}

/** Delayed ids sorted by due time (epoch ms). */
export class DelayedIds {
  private entries: { id: string; at: number }[] = [];

  add(id: string, at: number): void {
    let i = this.entries.length;
    while (i > 0 && (this.entries[i - 1] as { at: number }).at > at) i--;
    this.entries.splice(i, 0, { id, at });
  }

  /** Removes and returns the ids due at `now`. */
  popDue(now: number): string[] {
    let n = 0;
    while (n < this.entries.length && (this.entries[n] as { at: number }).at <= now) n++;
    return this.entries.splice(0, n).map((e) => e.id);
  }

  /** Due time of the first, if any. */
  firstAt(): number | undefined {
    return this.entries[0]?.at;
  }

  remove(id: string): void {
    this.entries = this.entries.filter((e) => e.id !== id);
  }

  clear(): void {
    this.entries = [];
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
