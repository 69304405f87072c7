/**
 * The listing of a MemoryStore: entries in queueing order, indexed by status and by job name,
 * so a page of `list`, newest queued first, walks one index from its cursor and costs what it
 * reads (at most SCAN_BUDGET non-matching tasks a call), never every task stored.
 */
import { InvalidTaskArguments } from '../../model/errors.js';
import type { TaskStatus } from '../../model/states.js';
import type { WireTask } from '../../model/task.js';
import { MAX_PAGE_LIMIT, type PageRequest, type StoreFilter } from '../../store/contract.js';
import { SortedEntries } from './sorted-entries.js';

/** Tasks a page may read beyond those it returns: past it, the page ends early with a cursor. */
export const SCAN_BUDGET = 10_000;

/** What the listing sorts: a task (its name and status at hand) and its queueing order. */
export interface Listed {
  readonly seq: number;
  readonly name: string;
  readonly status: TaskStatus;
  readonly task: WireTask;
}

/** A page of tasks as stored (the store copies them out) and the cursor after it. */
export interface StoredPage {
  tasks: WireTask[];
  cursor: string | null;
}

/** Checks a page request: the cursor's seq (null: from the newest), or a clear error. */
export function checkPage(page: PageRequest): number | null {
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > MAX_PAGE_LIMIT) {
    throw new InvalidTaskArguments(`page limit must be an integer from 1 to ${MAX_PAGE_LIMIT}, got ${String(page.limit)}`);
  }
  if (page.cursor === null) return null;
  if (typeof page.cursor !== 'string' || !/^\d{1,15}$/.test(page.cursor)) {
    throw new InvalidTaskArguments(`page cursor must be a cursor a previous page returned, got ${JSON.stringify(page.cursor)}`);
  }
  return Number(page.cursor);
}

/** Several streams sorted by descending seq, merged (k is at most the six states). */
function* mergeDescending<T extends Listed>(streams: Iterator<T>[]): Generator<T> {
  const heads = streams.map((s) => s.next());
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i] as IteratorResult<T>;
      if (!head.done && (best < 0 || head.value.seq > ((heads[best] as IteratorResult<T>).value as T).seq)) best = i;
    }
    if (best < 0) return;
    yield (heads[best] as IteratorResult<T>).value as T;
    heads[best] = (streams[best] as Iterator<T>).next();
  }
}

/** The listing indexes of one store (every task, per job name, per status) and its pages. */
export class TaskListing<T extends Listed = Listed> {
  private readonly all = new SortedEntries<T>();
  private readonly byName = new Map<string, SortedEntries<T>>();
  private readonly byStatus = new Map<TaskStatus, SortedEntries<T>>();

  /** Lists a new entry (its task's name and status). */
  add(entry: T): void {
    this.all.add(entry);
    this.index(this.byName, entry.name).add(entry);
    this.index(this.byStatus, entry.status).add(entry);
  }

  /** Moves a listed entry from one status index to another. */
  moved(entry: T, from: TaskStatus, to: TaskStatus): void {
    if (from === to) return;
    this.byStatus.get(from)?.delete(entry.seq);
    this.index(this.byStatus, to).add(entry);
  }

  remove(entry: T): void {
    this.all.delete(entry.seq);
    this.byName.get(entry.name)?.delete(entry.seq);
    this.byStatus.get(entry.status)?.delete(entry.seq);
  }

  clear(): void {
    this.all.clear();
    this.byName.clear();
    this.byStatus.clear();
  }

  /** One page of the tasks matching `filter`, newest queued first; `get` finds entries by id. */
  page(filter: StoreFilter, page: PageRequest, get: (id: string) => T | undefined): StoredPage {
    const bound = checkPage(page);
    const status = filter.status ? new Set<number>(filter.status) : null;
    // Name and status from the entry: only a from_task filter reads the task (unpacks an ended one).
    const matches = (e: T) =>
      (filter.name === undefined || e.name === filter.name) &&
      (status === null || status.has(e.status)) &&
      (filter.from_task === undefined || e.task.from_task === filter.from_task);
    const tasks: WireTask[] = [];
    let read = 0;
    let last = 0;
    for (const entry of this.source(filter, bound, get)) {
      if (matches(entry)) {
        // One more match past a full page: there is a next page, and it starts below the last.
        if (tasks.length === page.limit) return { tasks, cursor: String(last) };
        tasks.push(entry.task);
        last = entry.seq;
      } else if (++read >= SCAN_BUDGET) {
        return { tasks, cursor: String(tasks.length === page.limit ? last : entry.seq) };
      }
    }
    return { tasks, cursor: null };
  }

  /** The entries to walk below `bound`, from the narrowest index the filter allows. */
  private source(filter: StoreFilter, bound: number | null, get: (id: string) => T | undefined): Iterable<T> {
    if (filter.ids) {
      return [...new Set(filter.ids)]
        .map(get)
        .filter((e): e is T => e !== undefined && (bound === null || e.seq < bound))
        .sort((a, b) => b.seq - a.seq);
    }
    const none = new SortedEntries<T>();
    const byName = filter.name !== undefined ? (this.byName.get(filter.name) ?? none) : null;
    const byStatus = filter.status ? [...new Set(filter.status)].map((s) => this.byStatus.get(s) ?? none) : null;
    const statusSize = byStatus?.reduce((n, index) => n + index.size, 0) ?? Infinity;
    if (byStatus && (!byName || statusSize <= byName.size)) return mergeDescending(byStatus.map((index) => index.below(bound)));
    return (byName ?? this.all).below(bound);
  }

  private index<K>(map: Map<K, SortedEntries<T>>, key: K): SortedEntries<T> {
    let index = map.get(key);
    if (!index) map.set(key, (index = new SortedEntries<T>()));
    return index;
  }
}
