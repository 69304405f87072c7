/**
 * The tasks of a MemoryStore by id, one entry each: the current version of the task, its place in
 * queueing order, its waiting ticket and its last fencing token. The listing is kept in step:
 * every save that changes a task's status moves its entry between the status indexes.
 */
import type { WireTask } from '../../model/task.js';
import type { PageRequest, StoreFilter } from '../../store/contract.js';
import { TaskListing, type StoredPage } from './memory-listing.js';
import type { Ticket } from './memory-queues.js';

/** A waiting task's place in the queues: stale once its entry holds another ticket (or none). */
export interface WaitTicket extends Ticket {
  readonly entry: Entry;
}

/** One stored task. */
export interface Entry {
  /** The current version (replaced, never changed in place: readers may share it). */
  task: WireTask;
  /** Queueing order: the listing's key. */
  readonly seq: number;
  /** Set while the task waits for a worker (ready or delayed). */
  ticket: WaitTicket | null;
  /** The last fencing token minted for it (0: never pulled). */
  token: number;
}

/** The entries of one store by id, and its listing. */
export class StoredTasks {
  private readonly byId = new Map<string, Entry>();
  private readonly listing = new TaskListing();
  private nextSeq = 0;

  get(id: string): Entry | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Stores a new task, listed as the newest. */
  add(task: WireTask): Entry {
    const entry: Entry = { task, seq: ++this.nextSeq, ticket: null, token: 0 };
    this.byId.set(task.id, entry);
    this.listing.add(entry);
    return entry;
  }

  /** Replaces the stored version of a task. */
  save(entry: Entry, task: WireTask): void {
    if (entry.task.status !== task.status) this.listing.moved(entry, entry.task.status, task.status);
    entry.task = task;
  }

  delete(entry: Entry): void {
    if (this.byId.get(entry.task.id) !== entry) return;
    this.byId.delete(entry.task.id);
    this.listing.remove(entry);
  }

  /** One page of the tasks matching `filter`, newest queued first (the stored objects). */
  page(filter: StoreFilter, page: PageRequest): StoredPage {
    return this.listing.page(filter, page, (id) => this.byId.get(id));
  }

  clear(): void {
    this.byId.clear();
    this.listing.clear();
  }
}
