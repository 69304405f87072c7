/**
 * The tasks of a MemoryStore by id, with their listing kept in step: every save that changes a
 * task's status moves it between the status indexes, so `list` never scans.
 */
import type { WireTask } from '../../model/task.js';
import type { PageRequest, StoreFilter } from '../../store/contract.js';
import { TaskListing, type StoredPage } from './memory-listing.js';

export class StoredTasks {
  private readonly byId = new Map<string, WireTask>();
  private readonly listing = new TaskListing();

  get size(): number {
    return this.byId.size;
  }

  get(id: string): WireTask | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Stores `task` in place of its previous version (a new task is listed as the newest). */
  save(task: WireTask): void {
    const previous = this.byId.get(task.id);
    this.byId.set(task.id, task);
    if (!previous) this.listing.add(task);
    else if (previous.status !== task.status) this.listing.moved(task.id, previous.status, task.status);
  }

  delete(task: WireTask): void {
    if (this.byId.get(task.id) !== task) return;
    this.byId.delete(task.id);
    this.listing.remove(task);
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
