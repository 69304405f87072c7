/**
 * Queueing on redis://: idempotency keys, bulk batches split into bounded scripts, periodic runs
 * claimed and queued in one script (a failure can no longer fall between the two), and listings
 * by page, newest queued first, each call bounded.
 */
import { expect } from 'chai';
import type { RedisClient } from '../../src/backends/redis/redis-link.js';
import type { RedisStore } from '../../src/backends/redis/redis.js';
import { FAILURE, QUEUED, REVOKED, STARTED, SUCCESS } from '../../src/model/states.js';
import type { WireTask } from '../../src/model/task.js';
import { dropNamespace, redisAvailable } from './redis-env.js';
import { appName, countRuns, Stores, wireTask } from './redis-tasks.js';

/** Fault injection: the next command runs in Redis (or not, `reach: false`), then its reply is lost. */
function loseNextReply(store: RedisStore, reach = true): void {
  const link = store.link;
  const run = link.run.bind(link);
  link.run = async <T>(fn: (redis: RedisClient) => Promise<T>, waitMs?: number): Promise<T> => {
    link.run = run;
    if (reach) await run(fn, waitMs);
    throw new Error('Connection is closed.');
  };
}

describe('redis:// queueing', function () {
  const stores = new Stores();

  before(async function () {
    if (!(await redisAvailable())) this.skip();
  });
  afterEach(() => stores.closeAll());
  after(() => dropNamespace().catch(() => undefined));

  describe('idempotency keys', () => {
    it('gives a resent queue with the same key the first task\'s id, and stores one task', async () => {
      const store = stores.store(appName('idem'));
      const first = wireTask({ kwargs: { a: 1 } });
      const [id] = await store.queue([first], { idempotencyKeys: ['order-42'] });
      expect(id).to.equal(first.id);
      // The producer lost the reply and sends again, with a new task id, as a retry would.
      const again = await store.queue([wireTask({ kwargs: { a: 1 } })], { idempotencyKeys: ['order-42'] });
      expect(again).to.deep.equal([first.id]);
      const page = await store.list({}, { limit: 10, cursor: null });
      expect(page.tasks.map((t) => t.id)).to.deep.equal([first.id]);
      expect(await store.numQueued()).to.equal(1);
      // Other keys and no key queue as usual; one key twice in one batch is one task.
      const [x, y, z] = [wireTask(), wireTask(), wireTask()];
      expect(await store.queue([x, y, z], { idempotencyKeys: ['order-43', null, 'order-43'] })).to.deep.equal([x.id, y.id, x.id]);
      expect(await store.numQueued()).to.equal(3);
    });

    it('forgets a key after its window', async () => {
      const store = stores.store(appName('idem'));
      const first = wireTask();
      await store.queue([first], { idempotencyKeys: ['k'], idempotencyWindowMs: 50 });
      const key = store.keys.idempotency('k');
      const ttl = await store.link.cmd.pttl(key);
      expect(ttl).to.be.within(1, 50);
      while ((await store.link.cmd.exists(key)) === 1) await new Promise((r) => setTimeout(r, 10));
      const second = wireTask();
      expect(await store.queue([second], { idempotencyKeys: ['k'] })).to.deep.equal([second.id]);
    });

    it('refuses a malformed key list with a clear error, storing nothing', async () => {
      const store = stores.store(appName('idem'));
      let error: unknown;
      await store.queue([wireTask(), wireTask()], { idempotencyKeys: ['only-one'] }).catch((e: unknown) => (error = e));
      expect(String(error)).to.match(/one entry .* per task/);
      await store.queue([wireTask()], { idempotencyKeys: [''] }).catch((e: unknown) => (error = e));
      expect(String(error)).to.match(/idempotency key must be a non-empty string/);
      expect(await store.numQueued()).to.equal(0);
    });
  });

  describe('bulk batches', () => {
    it('splits a batch into scripts of at most queueChunk tasks, in order, locks checked across chunks', async () => {
      const store = stores.store(appName('bulk'), { queueChunk: 3 });
      const tasks = Array.from({ length: 10 }, (_, i) => wireTask({ kwargs: { i }, lock_id: i === 4 || i === 8 ? 'same' : null }));
      let ids: (string | null)[] = [];
      const runs = await countRuns('queue', async () => {
        ids = await store.queue(tasks);
      });
      expect(runs).to.equal(4);
      expect(ids).to.deep.equal(tasks.map((t, i) => (i === 8 ? null : t.id)));
      const pulled = await store.pull({ worker: 'w', max: 20, leaseMs: 60_000, waitMs: 0 });
      expect(pulled.map((d) => d.task.kwargs.i)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 9]);
    });

    it('stores no chunk of a batch whose later chunk holds a bad task id or idempotency key', async () => {
      const store = stores.store(appName('bulk'), { queueChunk: 2 });
      let error: unknown = null;
      await store.queue([wireTask(), wireTask(), wireTask(), wireTask({ id: 'a b' })]).catch((err: unknown) => (error = err));
      expect(String(error)).to.match(/without spaces/);
      error = null;
      const keys = ['k1', null, null, ''];
      await store.queue([wireTask(), wireTask(), wireTask(), wireTask()], { idempotencyKeys: keys }).catch((err: unknown) => (error = err));
      expect(String(error)).to.match(/idempotency key must be a non-empty string/);
      expect(await store.numQueued()).to.equal(0);
      expect((await store.list({}, { limit: 10, cursor: null })).tasks).to.deep.equal([]);
    });
  });

  describe('periodic claims', () => {
    const periodic = () => wireTask({ name: 'testperiodic', lock_id: null });

    it('claims a run and queues its task in one script; a second claim of the same run gets false', async () => {
      const a = stores.store(appName('claim'));
      const b = stores.store(a.name);
      const task = periodic();
      expect(await a.claimRun('testperiodic', null, 1000, task)).to.equal(task.id);
      expect(await b.claimRun('testperiodic', null, 1000, periodic())).to.equal(false);
      expect(await b.claimRun('testperiodic', 1000, 2000, periodic())).to.be.a('string');
      expect(await a.lastRuns()).to.deep.equal({ testperiodic: 2000 });
      expect((await a.list({ name: 'testperiodic' }, { limit: 10, cursor: null })).tasks).to.have.length(2);
    });

    it('cannot lose a run to a failure between claim and queue: the claim and the task land together or not at all', async () => {
      const a = stores.store(appName('claim'));
      const b = stores.store(a.name);
      // The script ran in Redis, its reply was lost: the run is claimed AND its task queued.
      loseNextReply(a, true);
      let error: unknown;
      await a.claimRun('testperiodic', null, 1000, periodic()).catch((e: unknown) => (error = e));
      expect(String(error)).to.include('Connection is closed');
      expect(await b.claimRun('testperiodic', null, 1000, periodic()), 'claimed already').to.equal(false);
      let tasks = (await b.list({ name: 'testperiodic' }, { limit: 10, cursor: null })).tasks;
      expect(tasks.map((t) => t.status), 'the run was queued, once').to.deep.equal([QUEUED]);
      // The command never reached Redis: nothing claimed, so the next scheduler claims and queues.
      loseNextReply(a, false);
      await a.claimRun('testperiodic', 1000, 2000, periodic()).catch((e: unknown) => (error = e));
      expect(await a.lastRuns()).to.deep.equal({ testperiodic: 1000 });
      expect(await b.claimRun('testperiodic', 1000, 2000, periodic())).to.be.a('string');
      tasks = (await b.list({ name: 'testperiodic' }, { limit: 10, cursor: null })).tasks;
      expect(tasks).to.have.length(2);
    });

    it('claims the run even when the task is held back by its lock (null), and never queues twice', async () => {
      const store = stores.store(appName('claim'));
      const held = wireTask({ name: 'testperiodic', lock_id: 'P' });
      expect(await store.claimRun('testperiodic', null, 1000, held)).to.equal(held.id);
      expect(await store.claimRun('testperiodic', 1000, 2000, wireTask({ name: 'testperiodic', lock_id: 'P' }))).to.equal(null);
      expect(await store.lastRuns()).to.deep.equal({ testperiodic: 2000 });
    });
  });

  describe('listings', () => {
    /** Every task of the listing, page by page; also how many pages it took. */
    async function all(store: RedisStore, filter: Parameters<RedisStore['list']>[0], limit: number): Promise<[WireTask[], number]> {
      const out: WireTask[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await store.list(filter, { limit, cursor });
        expect(page.tasks.length).to.be.at.most(limit);
        out.push(...page.tasks);
        cursor = page.cursor;
        pages += 1;
        expect(pages, 'pages end').to.be.below(1000);
      } while (cursor !== null);
      return [out, pages];
    }

    it('pages through every task newest queued first, by status and by name, without repeats or gaps', async () => {
      const store = stores.store(appName('list'), { listBudget: 4 });
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const [id] = await store.queue([wireTask({ name: i % 3 === 0 ? 'other' : 'addition', kwargs: { i } })]);
        ids.push(id as string);
      }
      const newestFirst = [...ids].reverse();
      const [everything] = await all(store, {}, 5);
      expect(everything.map((t) => t.id)).to.deep.equal(newestFirst);
      const byName = newestFirst.filter((_, k) => (11 - k) % 3 === 0);
      expect((await all(store, { name: 'other' }, 2))[0].map((t) => t.id)).to.deep.equal(byName);
      // Finish some, revoke one: the status listings follow.
      const pulled = await store.pull({ worker: 'w', max: 4, leaseMs: 60_000, waitMs: 0 });
      for (const [k, d] of pulled.entries()) {
        const status = k === 0 ? FAILURE : SUCCESS;
        expect(await store.finish({ ...d.task, status }, { worker: 'w', token: d.token })).to.equal(true);
      }
      expect(await store.revoke(ids[11] as string)).to.equal(true);
      const [ok] = await all(store, { status: [SUCCESS] }, 2);
      expect(ok.map((t) => t.id)).to.deep.equal([ids[3], ids[2], ids[1]]);
      const [ended] = await all(store, { status: [SUCCESS, FAILURE, REVOKED] }, 2);
      expect(ended.map((t) => t.id)).to.deep.equal([ids[11], ids[3], ids[2], ids[1], ids[0]]);
      // Two filters, one budget of 4 entries a call: fewer rows per page, but all of them in the end.
      const [mixed, pages] = await all(store, { name: 'addition', status: [QUEUED] }, 3);
      expect(mixed.map((t) => t.id)).to.deep.equal(newestFirst.filter((id, k) => (11 - k) % 3 !== 0 && ![ids[1], ids[2], ids[11]].includes(id)));
      expect(pages).to.be.greaterThan(1);
      const [fromNone] = await all(store, { from_task: 'nobody' }, 3);
      expect(fromNone).to.deep.equal([]);
    });

    it('lists every task exactly once while tasks change status between pages', async () => {
      const store = stores.store(appName('list'));
      const ids = (await store.queue(Array.from({ length: 30 }, (_, i) => wireTask({ kwargs: { i } })))) as string[];
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await store.list({ status: [QUEUED, STARTED, SUCCESS] }, { limit: 4, cursor });
        seen.push(...page.tasks.map((t) => t.id));
        cursor = page.cursor;
        // Between pages, workers take and finish the oldest waiting tasks.
        for (const d of await store.pull({ worker: 'w', max: 3, leaseMs: 60_000, waitMs: 0 })) {
          expect(await store.start({ ...d.task, status: STARTED, worker: 'w' }, { worker: 'w', token: d.token })).to.equal(true);
          if (Number(d.task.kwargs.i) % 2) expect(await store.finish({ ...d.task, status: SUCCESS, worker: 'w' }, { worker: 'w', token: d.token })).to.equal(true);
        }
      } while (cursor !== null);
      expect(seen).to.deep.equal([...ids].reverse());
    });

    it('lists given ids newest first, page by page, and refuses bad pages with a clear error', async () => {
      const store = stores.store(appName('list'));
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push((await store.queue([wireTask()]))[0] as string);
      const [some] = await all(store, { ids: [ids[0] as string, ids[3] as string, 'unknown', ids[4] as string] }, 2);
      expect(some.map((t) => t.id)).to.deep.equal([ids[4], ids[3], ids[0]]);
      for (const bad of [0, 1001, 2.5]) {
        let error: unknown;
        await store.list({}, { limit: bad, cursor: null }).catch((e: unknown) => (error = e));
        expect(String(error)).to.match(/page limit must be an integer from 1 to 1000/);
      }
      let error: unknown;
      await store.list({}, { limit: 5, cursor: 'garbage' }).catch((e: unknown) => (error = e));
      expect(String(error)).to.match(/Invalid page cursor/);
    });
  });
});
