/**
 * The tasks of a MemoryStore by id, one entry each: the current version of the task, its place in
 * queueing order, its waiting ticket and its last fencing token. The listing is kept in step:
 * every save that changes a task's status moves its entry between the status indexes. An ended
 * task is kept packed (ended-record.ts): one string instead of its objects.
 */
import { READY_STATES, type TaskStatus } from '../../model/states.js';
import type { WireTask } from '../../model/task.js';
import { packEnded, unpackEnded } from './ended-record.js';
import type { PageRequest, StoreFilter } from '../../store/contract.js';
import { TaskListing, type StoredPage } from './memory-listing.js';
import type { Ticket } from './memory-queues.js';

/** A waiting task's place in the queues: stale once its entry holds another ticket (or none). */
export interface WaitTicket extends Ticket {
  readonly entry: Entry;
}

/** One stored task. */
export class Entry {
  readonly id: string;
  readonly name: string;
  /** The current version's status. */
  status: TaskStatus;
  /** Set while the task waits for a worker (ready or delayed). */
  ticket: WaitTicket | null = null;
  /** The last fencing token minted for it (0: never pulled). */
  token = 0;
  /**
   * `worker:token` of the delivery whose retry was saved last: that retry sent again (its answer
   * lost) is answered as saved, whatever the deliveries since did.
   */
  retried: string | null = null;
  /** The current version: the record, or an ended task's packed form. */
  private current: WireTask | string;

  constructor(
    task: WireTask,
    /** Queueing order: the listing's key. */
    readonly seq: number,
  ) {
    this.id = task.id;
    this.name = task.name;
    this.status = task.status;
    this.current = task;
  }

  /**
   * The current version (replaced, never changed in place: readers may share it). An ended task's
   * is made afresh from its packed form at each read.
   */
  get task(): WireTask {
    const current = this.current;
    return typeof current === 'string' ? unpackEnded(this.id, this.name, this.status, current) : current;
  }

  /** Replaces the current version; an ended task is packed. */
  set(task: WireTask): void {
    this.status = task.status;
    this.current = READY_STATES.has(task.status) ? packEnded(task) : task;
  }
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
    const entry = new Entry(task, ++this.nextSeq);
    this.byId.set(task.id, entry);
    this.listing.add(entry);
    return entry;
  }

  /** Replaces the stored version of a task. */
  save(entry: Entry, task: WireTask): void {
    if (entry.status !== task.status) this.listing.moved(entry, entry.status, task.status);
    entry.set(task);
  }

  delete(entry: Entry): void {
    if (this.byId.get(entry.id) !== entry) return;
    this.byId.delete(entry.id);
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
