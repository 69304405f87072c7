/**
 * Paginated listings on MemoryStore: newest queued first, every task once, pages filtered by
 * status and job name through indexes (a filtered page does not read every task), and bounded
 * work per call when no index helps.
 */
import { expect } from 'chai';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { InvalidTaskArguments } from '../../src/model/errors.js';
import { FAILURE, QUEUED, REVOKED, STARTED, SUCCESS, type TaskStatus } from '../../src/model/states.js';
import type { StoreFilter } from '../../src/store/contract.js';
import type { WireTask } from '../../src/model/task.js';
import { ManualClock, wireTask } from './memory-support.js';

describe('MemoryStore listings', function () {
  this.timeout(120_000);
  let clock: ManualClock;
  let store: MemoryStore;

  beforeEach(() => {
    clock = new ManualClock();
    store = new MemoryStore('listing', { shareObjects: true, clock: clock.now });
  });

  afterEach(async () => {
    await store.close();
  });

  /** Every page of `filter` with `limit`, concatenated; checks each page's size. */
  async function everyPage(filter: StoreFilter, limit: number): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; ; pages++) {
      expect(pages, 'pages end').to.be.below(10_000);
      const page = await store.list(filter, { limit, cursor });
      expect(page.tasks.length).to.be.at.most(limit);
      ids.push(...page.tasks.map((t) => t.id));
      if (page.cursor === null) return ids;
      cursor = page.cursor;
    }
  }

  it('pages through every task once, newest queued first, for any filter, while tasks change state', async () => {
    const names = ['addition', 'echo', 'fail'];
    const queued: WireTask[] = [];
    for (let i = 0; i < 3000; i++) {
      const task = wireTask({ name: names[i % 3] as string, from_task: i % 5 === 0 ? 'parent' : null }, clock.ms);
      queued.push(task);
      await store.queue([task]);
      clock.advance(i % 7 === 0 ? 1 : 0);
    }
    // Move tasks through every state: some pulled, started, finished, revoked.
    const deliveries = await store.pull({ worker: 'w', max: 1500, leaseMs: 60_000, waitMs: 0 });
    for (const [i, d] of deliveries.entries()) {
      const fence = { worker: 'w', token: d.token };
      if (i % 3 === 0) continue;
      await store.start({ ...d.task, status: STARTED, worker: 'w' }, fence);
      if (i % 3 === 1) await store.finish({ ...d.task, status: i % 2 ? SUCCESS : FAILURE, time_ended: clock.ms / 1000 }, fence);
    }
    for (const task of queued.slice(2000, 2200)) await store.revoke(task.id);

    const now = new Map((await store.get(queued.map((t) => t.id))).map((t) => [t!.id, t as WireTask]));
    const newestFirst = [...queued].reverse().map((t) => now.get(t.id) as WireTask);
    const filters: StoreFilter[] = [
      {},
      { name: 'echo' },
      { status: [QUEUED] },
      { status: [SUCCESS, REVOKED, FAILURE] },
      { status: [STARTED], name: 'fail' },
      { from_task: 'parent' },
      { from_task: 'parent', status: [QUEUED], name: 'addition' },
      { ids: [queued[5]!.id, queued[2500]!.id, 'unknown', queued[1000]!.id, queued[5]!.id] },
      { status: [] },
    ];
    for (const filter of filters) {
      const statuses = filter.status ? new Set<TaskStatus>(filter.status) : null;
      const expected = newestFirst
        .filter((t) => !filter.ids || filter.ids.includes(t.id))
        .filter((t) => filter.name === undefined || t.name === filter.name)
        .filter((t) => !statuses || statuses.has(t.status))
        .filter((t) => filter.from_task === undefined || t.from_task === filter.from_task)
        .map((t) => t.id);
      for (const limit of [1, 7, 100, 1000]) {
        if (limit === 1 && expected.length > 400) continue;
        expect(await everyPage(filter, limit), `${JSON.stringify(filter)} by ${limit}`).to.deep.equal(expected);
      }
    }
  });

  it('answers a page filtered by name or status from its index, without reading 100k other tasks', async () => {
    const rare = wireTask({ name: 'echo' }, clock.ms);
    await store.queue([rare]);
    await store.queue(Array.from({ length: 100_000 }, () => wireTask({}, clock.ms)));
    // Wall time on a shared machine also counts a GC pause or another process holding the CPU:
    // the fastest of three reads counts (a scan of 100k tasks is slow every time).
    const timedPage = async (filter: StoreFilter) => {
      let best: { page: Awaited<ReturnType<typeof store.list>>; ms: number } | null = null;
      for (let attempt = 0; attempt < 3; attempt++) {
        const started = process.hrtime.bigint();
        const page = await store.list(filter, { limit: 100, cursor: null });
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        if (!best || ms < best.ms) best = { page, ms };
      }
      return best!;
    };
    const filters: StoreFilter[] = [{ name: 'echo' }, { status: [REVOKED] }, { name: 'nosuchjob' }, { status: [QUEUED], name: 'echo' }];
    for (const filter of filters) {
      const { page, ms } = await timedPage(filter);
      expect(page.cursor, JSON.stringify(filter)).to.equal(null);
      expect(ms, `${JSON.stringify(filter)} answered in ${ms.toFixed(2)} ms`).to.be.below(20);
    }
    expect((await timedPage({ name: 'echo' })).page.tasks.map((t) => t.id)).to.deep.equal([rare.id]);
    // No index for from_task: the first page stops early, with a cursor, and paging finds the match.
    const { page, ms } = await timedPage({ from_task: 'nobody' });
    expect(page.tasks).to.deep.equal([]);
    expect(page.cursor).to.not.equal(null);
    expect(ms, `an unindexed page in ${ms.toFixed(2)} ms`).to.be.below(50);
    expect(await everyPage({ from_task: 'nobody' }, 100), 'paged to the end').to.deep.equal([]);
  });

  it('refuses a limit outside 1..1000 and a cursor it did not give, with a clear error', async () => {
    for (const page of [{ limit: 0, cursor: null }, { limit: 1001, cursor: null }, { limit: 1.5, cursor: null }, { limit: 10, cursor: 'abc' }, { limit: 10, cursor: 7 }]) {
      let error: unknown;
      await store.list({}, page as { limit: number; cursor: string | null }).catch((e: unknown) => (error = e));
      expect(error, JSON.stringify(page)).to.be.instanceOf(InvalidTaskArguments);
      expect((error as Error).message).to.match(/^page (limit|cursor) must be/);
    }
  });
});
