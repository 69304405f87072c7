/**
 * The listing of a MemoryStore: tasks numbered in queueing order and indexed by status and by
 * job name, so a page of `list`, newest queued first, walks one index from its cursor and costs
 * what it reads (at most SCAN_BUDGET tasks a call), never every task stored.
 */
import { InvalidTaskArguments } from '../../model/errors.js';
import type { TaskStatus } from '../../model/states.js';
import type { WireTask } from '../../model/task.js';
import { MAX_PAGE_LIMIT, type PageRequest, type StoreFilter } from '../../store/contract.js';
import { SortedKeys } from './sorted-keys.js';

/** Tasks a page may read beyond those it returns: past it, the page ends early with a cursor. */
export const SCAN_BUDGET = 10_000;

/** A page of tasks as stored (the store copies them out) and the cursor after it. */
export interface StoredPage {
  tasks: WireTask[];
  cursor: string | null;
}

/** Checks a page request: a clear error for a bad limit or cursor. */
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

/** The largest of several descending streams of keys, merged (k is at most the six states). */
function* mergeDescending(streams: Iterator<number>[]): Generator<number> {
  const heads = streams.map((s) => s.next());
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i] as IteratorResult<number>;
      if (!head.done && (best < 0 || head.value > ((heads[best] as IteratorResult<number>).value as number))) best = i;
    }
    if (best < 0) return;
    yield (heads[best] as IteratorResult<number>).value as number;
    heads[best] = (streams[best] as Iterator<number>).next();
  }
}

export class TaskListing {
  private readonly seqOf = new Map<string, number>();
  private readonly idOf = new Map<number, string>();
  private readonly all = new SortedKeys();
  private readonly byName = new Map<string, SortedKeys>();
  private readonly byStatus = new Map<TaskStatus, SortedKeys>();
  private nextSeq = 0;

  /** Lists a task queued now (the newest). */
  add(task: WireTask): void {
    const seq = ++this.nextSeq;
    this.seqOf.set(task.id, seq);
    this.idOf.set(seq, task.id);
    this.all.add(seq);
    this.keys(this.byName, task.name).add(seq);
    this.keys(this.byStatus, task.status).add(seq);
  }

  /** Moves a listed task from one status index to another. */
  moved(id: string, from: TaskStatus, to: TaskStatus): void {
    const seq = this.seqOf.get(id);
    if (seq === undefined || from === to) return;
    this.byStatus.get(from)?.delete(seq);
    this.keys(this.byStatus, to).add(seq);
  }

  remove(task: WireTask): void {
    const seq = this.seqOf.get(task.id);
    if (seq === undefined) return;
    this.seqOf.delete(task.id);
    this.idOf.delete(seq);
    this.all.delete(seq);
    this.byName.get(task.name)?.delete(seq);
    this.byStatus.get(task.status)?.delete(seq);
  }

  clear(): void {
    this.seqOf.clear();
    this.idOf.clear();
    this.all.clear();
    this.byName.clear();
    this.byStatus.clear();
  }

  /** One page of the tasks matching `filter`, newest queued first, read through `get`. */
  page(filter: StoreFilter, page: PageRequest, get: (id: string) => WireTask | undefined): StoredPage {
    const bound = checkPage(page);
    const status = filter.status ? new Set<number>(filter.status) : null;
    const matches = (t: WireTask) =>
      (filter.name === undefined || t.name === filter.name) &&
      (status === null || status.has(t.status)) &&
      (filter.from_task === undefined || t.from_task === filter.from_task);
    const tasks: WireTask[] = [];
    let read = 0;
    let last: number | null = null;
    for (const seq of this.source(filter, bound)) {
      const task = get(this.idOf.get(seq) as string);
      if (task && matches(task)) {
        // One more match past a full page: there is a next page, and it starts below the last.
        if (tasks.length === page.limit) return { tasks, cursor: String(last) };
        tasks.push(task);
        last = seq;
      } else if (++read >= SCAN_BUDGET) {
        return { tasks, cursor: tasks.length === page.limit ? String(last) : String(seq) };
      }
    }
    return { tasks, cursor: null };
  }

  /** The keys to walk below `bound`, from the narrowest index the filter allows. */
  private source(filter: StoreFilter, bound: number | null): Iterable<number> {
    if (filter.ids) {
      const seqs = [...new Set(filter.ids)]
        .map((id) => this.seqOf.get(id))
        .filter((s): s is number => s !== undefined && (bound === null || s < bound))
        .sort((a, b) => b - a);
      return seqs;
    }
    const byName = filter.name !== undefined ? (this.byName.get(filter.name) ?? new SortedKeys()) : null;
    const byStatus = filter.status ? [...new Set(filter.status)].map((s) => this.byStatus.get(s) ?? new SortedKeys()) : null;
    const statusSize = byStatus?.reduce((n, keys) => n + keys.size, 0) ?? Infinity;
    if (byStatus && (!byName || statusSize <= byName.size)) return mergeDescending(byStatus.map((keys) => keys.below(bound)));
    return (byName ?? this.all).below(bound);
  }

  private keys<K>(map: Map<K, SortedKeys>, key: K): SortedKeys {
    let keys = map.get(key);
    if (!keys) map.set(key, (keys = new SortedKeys()));
    return keys;
  }
}
