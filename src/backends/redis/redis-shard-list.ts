/**
 * Listings of a sharded queue: newest queued first across every shard, merged by listing score
 * (time queued with each shard's sequence: listingMs in redis-codec.ts). The cursor carries one
 * position per shard: `s1.` and base64url JSON of an array whose entries are '' (not started),
 * the shard's own cursor `score:id`, or null (read to its end).
 *
 * A page asks each unfinished shard for a page (at once), then gives out rows, best first, only
 * while no shard could still hold a newer one: each shard's unread rows are older than its cursor.
 * Every call moves at least one shard on, so paging always ends. Order across shards within one
 * millisecond follows each shard's own sequence only: it is not the order of queueing.
 */
import type { PageRequest, StoreFilter, TaskPage } from '../../store/contract.js';
import type { WireTask } from '../../model/task.js';
import { checkFilter, checkPage, type ListedRow } from './redis-list.js';
import type { RedisStore } from './redis.js';
import { byShard, shardOf } from './redis-shard-route.js';

const CURSOR = 's1.';

function badCursor(cursor: string): TypeError {
  return new TypeError(`Invalid page cursor "${cursor}"`);
}

/** The per-shard positions of a cursor (every shard at its start for null). */
function positions(cursor: string | null, k: number): (string | null)[] {
  if (cursor === null) return Array.from({ length: k }, () => '');
  if (!cursor.startsWith(CURSOR)) throw badCursor(cursor);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor.slice(CURSOR.length), 'base64url').toString('utf8'));
  } catch {
    throw badCursor(cursor);
  }
  if (!Array.isArray(parsed) || parsed.length !== k || parsed.some((p) => p !== null && typeof p !== 'string')) {
    throw new TypeError(`Invalid page cursor "${cursor}": not a cursor of this queue's ${k} shards`);
  }
  return parsed as (string | null)[];
}

/** Compares rows newest first: higher score, then (as the index) higher id. */
function newer(a: { score: string; id: string }, b: { score: string; id: string }): number {
  const d = Number(b.score) - Number(a.score);
  if (d !== 0) return d;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** One page of the tasks matching `filter` across `shards`. */
export async function listShards(shards: readonly RedisStore[], filter: StoreFilter, page: PageRequest): Promise<TaskPage> {
  checkPage(page);
  checkFilter(filter);
  if (filter.ids) return listShardIds(shards, filter, page);
  const k = shards.length;
  const at = positions(page.cursor, k);
  const pages = await Promise.all(
    at.map((position, s) => (position === null ? null : shards[s]!.listRows(filter, { limit: page.limit, cursor: position || null }))),
  );
  // Each unfinished shard's frontier: every row it did not give yet comes after it.
  const frontiers: { score: string; id: string }[] = [];
  const candidates: { row: ListedRow; shard: number; id: string; score: string }[] = [];
  pages.forEach((p, s) => {
    if (!p) return;
    for (const row of p.rows) candidates.push({ row, shard: s, id: row.task.id, score: row.score });
    if (p.cursor !== null) {
      const colon = p.cursor.indexOf(':');
      frontiers.push({ score: p.cursor.slice(0, colon), id: p.cursor.slice(colon + 1) });
    }
  });
  candidates.sort(newer);
  const tasks: WireTask[] = [];
  // What each shard gave: a prefix of its rows, since the merge stops at the first row it cannot give.
  const given = new Map<number, { count: number; last: string }>();
  for (const c of candidates) {
    if (tasks.length >= page.limit) break;
    if (frontiers.some((f) => newer(c, f) > 0)) break;
    tasks.push(c.row.task);
    given.set(c.shard, { count: (given.get(c.shard)?.count ?? 0) + 1, last: `${c.score}:${c.id}` });
  }
  const next = at.map((position, s) => {
    const p = pages[s];
    if (!p) return position;
    const g = given.get(s);
    if ((g?.count ?? 0) === p.rows.length) return p.cursor;
    return g ? g.last : position;
  });
  const done = next.every((p) => p === null);
  return { tasks, cursor: done ? null : CURSOR + Buffer.from(JSON.stringify(next), 'utf8').toString('base64url') };
}

/** A page of the given ids (each read on its own shard) matching the rest of the filter, newest first. */
async function listShardIds(shards: readonly RedisStore[], filter: StoreFilter, page: PageRequest): Promise<TaskPage> {
  let offset = 0;
  if (page.cursor !== null) {
    const m = /^i:(\d+)$/.exec(page.cursor);
    if (!m) throw badCursor(page.cursor);
    offset = Number(m[1]);
  }
  const ids = [...new Set(filter.ids)];
  const groups = byShard(ids, (id) => shardOf(id, shards.length));
  const statuses = filter.status ? new Set<number>(filter.status) : null;
  const found: { task: WireTask; score: number }[] = [];
  const reads = [...groups].map(([s, group]) => shards[s]!.readListed(group.map((g) => g.item)));
  for (const list of await Promise.all(reads)) {
    for (const f of list) {
      if (
        f !== null &&
        (filter.name === undefined || f.task.name === filter.name) &&
        (filter.from_task === undefined || f.task.from_task === filter.from_task) &&
        (statuses === null || statuses.has(f.task.status))
      ) {
        found.push(f);
      }
    }
  }
  found.sort((a, b) => b.score - a.score || (a.task.id < b.task.id ? 1 : -1));
  const tasks = found.slice(offset, offset + page.limit).map((f) => f.task);
  return { tasks, cursor: offset + page.limit < found.length ? `i:${offset + page.limit}` : null };
}
