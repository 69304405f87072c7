/**
 * Listing pages narrowed by what the store does not index: text in a task's id, job name or
 * kwargs, and a range of queue times. The store's pages (newest queued first) are read on until
 * the page is full, the range's start is passed, or a bounded number of tasks was examined; a
 * page may then hold fewer tasks than asked, with a cursor to go on from.
 */
import { InvalidTaskArguments } from '../model/errors.js';
import type { WireTask } from '../model/task.js';
import type { PageRequest, StoreFilter, TaskPage, TaskStore } from '../store/contract.js';

/** What narrows a listing beyond the store's filter. */
export interface TaskSearch {
  /** Case-insensitive text found in the id, the job name or the JSON of the kwargs. */
  text?: string;
  /** Only tasks queued at or after this time (epoch seconds). */
  queuedAfter?: number;
  /** Only tasks queued at or before this time (epoch seconds). */
  queuedBefore?: number;
}

/** Tasks examined per call at most: a search of a large store answers in bounded steps. */
export const SEARCH_BUDGET = 5000;

/** Throws InvalidTaskArguments for a search that is not well formed. */
export function checkSearch(search: TaskSearch): void {
  if (search.text !== undefined && (typeof search.text !== 'string' || search.text.length > 200)) {
    throw new InvalidTaskArguments(`text must be a string of at most 200 characters, got ${JSON.stringify(search.text)}`);
  }
  for (const key of ['queuedAfter', 'queuedBefore'] as const) {
    const v = search[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new InvalidTaskArguments(`${key} must be a time in epoch seconds, got ${String(v)}`);
    }
  }
}

/** True when the search narrows anything. */
export function searching(search: TaskSearch): boolean {
  return !!search.text || search.queuedAfter !== undefined || search.queuedBefore !== undefined;
}

/** One page of the tasks matching `filter` and `search`, newest queued first. */
export async function searchPage(store: TaskStore, filter: StoreFilter, search: TaskSearch, page: PageRequest): Promise<TaskPage> {
  const needle = search.text?.toLowerCase() ?? '';
  const matches = (t: WireTask) =>
    (search.queuedBefore === undefined || t.time_queued <= search.queuedBefore) &&
    (!needle || t.id.toLowerCase().includes(needle) || t.name.toLowerCase().includes(needle) || JSON.stringify(t.kwargs).toLowerCase().includes(needle));
  const tasks: WireTask[] = [];
  let cursor = page.cursor;
  let examined = 0;
  while (tasks.length < page.limit && examined < SEARCH_BUDGET) {
    // Never more than the page still needs: the store's cursor then marks exactly where to go on.
    const next = await store.list(filter, { limit: Math.min(page.limit - tasks.length, SEARCH_BUDGET - examined), cursor });
    for (const t of next.tasks) {
      examined += 1;
      // Newest first: past the range's start nothing older can match.
      if (search.queuedAfter !== undefined && t.time_queued < search.queuedAfter) return { tasks, cursor: null };
      if (matches(t)) tasks.push(t);
    }
    cursor = next.cursor;
    if (cursor === null) break;
  }
  return { tasks, cursor };
}
