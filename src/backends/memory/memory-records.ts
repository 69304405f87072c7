/**
 * What a MemoryStore remembers beside its tasks: idempotency keys for a window, and the order in
 * which tasks ended (per ready state), which `purge` walks oldest first.
 */
import { REVOKED, SUCCESS, FAILURE, type TaskStatus } from '../../model/states.js';
import { BinaryHeap } from './binary-heap.js';

interface Remembered {
  id: string;
  /** Store clock (epoch ms). */
  until: number;
}

/** Idempotency keys, each remembered until its window ends; forgetting costs what expired. */
export class IdempotencyKeys {
  private readonly keys = new Map<string, Remembered>();
  private readonly expiries = new BinaryHeap<{ key: string; until: number }>((a, b) => a.until < b.until);

  /** Forgets the keys whose window ended at `now`. */
  expire(now: number): void {
    for (let top = this.expiries.peek(); top && top.until <= now; top = this.expiries.peek()) {
      this.expiries.pop();
      if (this.keys.get(top.key)?.until === top.until) this.keys.delete(top.key);
    }
  }

  /** The id of the task queued with `key` while its window lasts. */
  get(key: string, now: number): string | undefined {
    const remembered = this.keys.get(key);
    return remembered && remembered.until > now ? remembered.id : undefined;
  }

  remember(key: string, id: string, until: number): void {
    this.keys.set(key, { id, until });
    this.expiries.push({ key, until });
  }

  clear(): void {
    this.keys.clear();
    this.expiries.clear();
  }
}

/**
 * Task ends in the order they happened: ids and times in two parallel arrays (no object per
 * ended task, the times unboxed), with a moving head compacted now and then.
 */
class EndedFifo {
  private ids: string[] = [];
  private ats: number[] = [];
  private head = 0;

  push(id: string, at: number): void {
    this.ids.push(id);
    this.ats.push(at);
  }

  /** Time of the oldest end, or undefined when empty. */
  peekAt(): number | undefined {
    return this.head < this.ids.length ? this.ats[this.head] : undefined;
  }

  shift(): string {
    const id = this.ids[this.head++] as string;
    if (this.head > 1024 && this.head * 2 > this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.ats = this.ats.slice(this.head);
      this.head = 0;
    }
    return id;
  }

  clear(): void {
    this.ids = [];
    this.ats = [];
    this.head = 0;
  }
}

/** Ended tasks per ready state, in the order they ended. */
export class EndedLog {
  private readonly byStatus = new Map<TaskStatus, EndedFifo>([
    [SUCCESS, new EndedFifo()],
    [FAILURE, new EndedFifo()],
    [REVOKED, new EndedFifo()],
  ]);

  record(id: string, status: TaskStatus, at: number): void {
    this.byStatus.get(status)?.push(id, at);
  }

  /**
   * Takes out, oldest first, up to `limit` entries of `statuses` that ended at `cut` or before, and that
   * `remove` accepts (it deletes the task and says whether there was one to delete).
   */
  purge(cut: number, limit: number, statuses: readonly TaskStatus[], remove: (id: string) => boolean): number {
    const fifos = [...new Set(statuses)].map((s) => this.byStatus.get(s) as EndedFifo);
    let purged = 0;
    while (purged < limit) {
      let oldest: EndedFifo | undefined;
      let oldestAt = Infinity;
      for (const fifo of fifos) {
        const at = fifo.peekAt();
        if (at !== undefined && at <= cut && at < oldestAt) {
          oldest = fifo;
          oldestAt = at;
        }
      }
      if (!oldest) break;
      if (remove(oldest.shift())) purged += 1;
    }
    return purged;
  }

  clear(): void {
    for (const fifo of this.byStatus.values()) fifo.clear();
  }
}
