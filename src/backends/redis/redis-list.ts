/**
 * Task listings of the redis:// store: pages, newest queued first, with a cursor. list.lua reads
 * one index (every task, a status's, a job name's) from the cursor on and examines a bounded number
 * of entries per call; listing by ids reads those ids only.
 */
import { isTaskStatus } from '../../model/states.js';
import type { WireTask } from '../../model/task.js';
import { MAX_PAGE_LIMIT, type PageRequest, type StoreFilter, type TaskPage } from '../../store/contract.js';
import type { RedisKeys } from './redis-codec.js';
import { decodeTask } from './redis-decode.js';
import type { RedisClient } from './redis-link.js';
import { scripts } from './redis-scripts.js';

/** Runs a command on the store's connection (after its pending writes). */
type Run = <T>(fn: (redis: RedisClient) => Promise<T>) => Promise<T>;

/** Throws a one-line error for a page request that cannot be served. */
export function checkPage(page: PageRequest): void {
  if (!page || !Number.isInteger(page.limit) || page.limit < 1 || page.limit > MAX_PAGE_LIMIT) {
    throw new TypeError(`A page limit must be an integer from 1 to ${MAX_PAGE_LIMIT}, got ${String(page?.limit)}`);
  }
  if (page.cursor !== null && typeof page.cursor !== 'string') throw new TypeError(`A page cursor must be a string or null, got ${String(page.cursor)}`);
}

/** Tasks by id, in the order given; null where unknown. */
export async function readTasks(run: Run, keys: RedisKeys, ids: readonly string[]): Promise<(WireTask | null)[]> {
  return (await readListed(run, keys, ids)).map((found) => found?.task ?? null);
}

/** Tasks by id with their listing score (time queued with its sequence), null where unknown. */
export async function readListed(run: Run, keys: RedisKeys, ids: readonly string[]): Promise<({ task: WireTask; score: number } | null)[]> {
  if (!ids.length) return [];
  // Errors are raised inside `run`, so that a lost connection becomes BackendUnavailable there.
  // One id (a waiter's read) is one HGETALL: an ioredis pipeline costs more to build than it saves.
  const replies = await run(async (r) => {
    if (ids.length === 1) return [await r.hgetall(keys.taskKey(ids[0] as string))];
    const pipeline = r.pipeline();
    for (const id of ids) pipeline.hgetall(keys.taskKey(id));
    return ((await pipeline.exec()) ?? []).map(([err, reply]) => {
      if (err) throw err;
      return reply;
    });
  });
  return replies.map((reply, i) => {
    const id = ids[i] as string;
    const fields = reply as Record<string, string>;
    const task = decodeTask(flatten(fields), id);
    return task && { task, score: Number(fields._tq ?? task.time_queued * 1000) };
  });
}

/**
 * One page of the tasks matching `filter`. `budget` bounds the index entries one call examines
 * (at least the page's limit).
 */
export async function listPage(run: Run, keys: RedisKeys, filter: StoreFilter, page: PageRequest, budget: number): Promise<TaskPage> {
  checkPage(page);
  checkFilter(filter);
  if (filter.ids) return listIds(run, keys, filter, page);
  const { rows, cursor } = await listRows(run, keys, filter, page, budget);
  return { tasks: rows.map((row) => row.task), cursor };
}

/** Throws a one-line error for a filter that names an unknown status. */
export function checkFilter(filter: StoreFilter): void {
  for (const status of filter.status ?? []) {
    if (!isTaskStatus(status)) throw new TypeError(`Unknown task status in a filter: ${String(status)}`);
  }
}

/** A listed task and its listing score (`_tq`: time queued, see listingMs in redis-codec.ts). */
export interface ListedRow {
  task: WireTask;
  score: string;
}

/**
 * One page of the index walk (not by ids): the rows with their listing scores, and the cursor.
 * A sharded store merges the rows of its shards by score (redis-shard-list.ts).
 */
export async function listRows(
  run: Run,
  keys: RedisKeys,
  filter: StoreFilter,
  page: PageRequest,
  budget: number,
): Promise<{ rows: ListedRow[]; cursor: string | null }> {
  if (filter.status && !filter.status.length) return { rows: [], cursor: null };
  let cursorScore = '';
  let cursorId = '';
  if (page.cursor !== null) {
    const at = page.cursor.indexOf(':');
    cursorScore = page.cursor.slice(0, at);
    cursorId = page.cursor.slice(at + 1);
    if (at < 1 || !/^-?\d+(\.\d+)?$/.test(cursorScore)) throw new TypeError(`Invalid page cursor "${page.cursor}"`);
  }
  const args = [
    keys.prefix,
    page.limit,
    Math.max(page.limit, budget),
    cursorScore,
    cursorId,
    filter.name ?? '',
    filter.name !== undefined ? JSON.stringify(filter.name) : '',
    filter.from_task !== undefined ? JSON.stringify(filter.from_task) : '',
    [...new Set(filter.status ?? [])].join(','),
  ];
  const reply = await run((r) => scripts.list.run(r, [keys.all], args));
  const out = Array.isArray(reply) ? reply : [];
  const rows: ListedRow[] = [];
  for (let i = 2; i + 1 < out.length; i += 2) {
    const flat = out[i + 1];
    const task = decodeTask(flat, String(out[i]));
    if (task) rows.push({ task, score: listingScore(flat as unknown[], task) });
  }
  return { rows, cursor: out[0] ? `${String(out[0])}:${String(out[1])}` : null };
}

/** The `_tq` field of a flat HGETALL reply (time queued in ms for tasks stored without one). */
function listingScore(flat: unknown[], task: WireTask): string {
  for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i] === '_tq') return String(flat[i + 1]);
  return String(Math.round(task.time_queued * 1000));
}

/** A page of the given ids that match the rest of the filter, newest queued first. */
async function listIds(run: Run, keys: RedisKeys, filter: StoreFilter, page: PageRequest): Promise<TaskPage> {
  let offset = 0;
  if (page.cursor !== null) {
    const m = /^i:(\d+)$/.exec(page.cursor);
    if (!m) throw new TypeError(`Invalid page cursor "${page.cursor}"`);
    offset = Number(m[1]);
  }
  const statuses = filter.status ? new Set<number>(filter.status) : null;
  const found = (await readListed(run, keys, [...new Set(filter.ids)])).filter(
    (f): f is { task: WireTask; score: number } =>
      f !== null &&
      (filter.name === undefined || f.task.name === filter.name) &&
      (filter.from_task === undefined || f.task.from_task === filter.from_task) &&
      (statuses === null || statuses.has(f.task.status)),
  );
  found.sort((a, b) => b.score - a.score);
  const tasks = found.slice(offset, offset + page.limit).map((f) => f.task);
  return { tasks, cursor: offset + page.limit < found.length ? `i:${offset + page.limit}` : null };
}

/** An HGETALL object reply as the flat field/value list decodeTask reads. */
function flatten(fields: Record<string, string>): string[] {
  const flat: string[] = [];
  for (const [key, value] of Object.entries(fields)) flat.push(key, value);
  return flat;
}
