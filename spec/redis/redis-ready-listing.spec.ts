/**
 * The listings of ready tasks on redis:// (lua/_ready.lua): buckets of at most 128 entries, each
 * a small list (one listpack), indexed by their bounds, so that a finished task kept for resultTtl
 * costs about 30 bytes of listing instead of a skip list's 120; listed newest queued first whatever
 * order the tasks ended in, emptied by purge, merged with the s:<code> listings older versions kept;
 * each bucket's highest score recorded, so that appends read no bucket. Entries wait in a pending
 * list until 128 are there, or a listing or purge comes, and go into the buckets together.
 */
import { expect } from 'chai';
import type { RedisStore } from '../../src/backends/redis/redis.js';
import { RedisKeys } from '../../src/backends/redis/redis-codec.js';
import { FAILURE, SUCCESS, type TaskStatus } from '../../src/model/states.js';
import type { Delivery } from '../../src/store/contract.js';
import { NAMESPACE } from './redis-env.js';
import { redisSuite } from './redis-suite.js';
import { appName, readyBuckets, storeClockPast, Stores, wireTask, type ReadyBucket } from './redis-tasks.js';

describe('redis:// listings of ready tasks', function () {
  this.timeout(60_000);
  const suite = redisSuite();
  const stores = new Stores();
  afterEach(() => stores.closeAll());

  const prefixOf = (name: string) => `${NAMESPACE}:{${name}}:`;
  const keysOf = (name: string) => new RedisKeys(NAMESPACE, name);

  /** Queues `n` tasks and pulls them all; the ids in queue order and their deliveries. */
  async function queuedAndPulled(store: RedisStore, n: number): Promise<{ ids: string[]; pulled: Delivery[] }> {
    const ids = (await store.queue(Array.from({ length: n }, (_, a) => wireTask({ kwargs: { a } })))) as string[];
    const pulled: Delivery[] = [];
    while (pulled.length < n) pulled.push(...(await store.pull({ worker: 'w', max: n - pulled.length, leaseMs: 600_000, waitMs: 0 })));
    return { ids, pulled };
  }

  /** Finishes deliveries in one turn of the event loop (one finish script): SUCCESS unless `failed` names them. */
  async function finish(store: RedisStore, deliveries: Delivery[], failed: ReadonlySet<string> = new Set()): Promise<void> {
    const saved = await Promise.all(
      deliveries.map((d) =>
        store.finish({ ...d.task, status: failed.has(d.task.id) ? FAILURE : SUCCESS, result: 1, time_ended: Date.now() / 1000 }, { worker: 'w', token: d.token }),
      ),
    );
    expect(saved.every(Boolean)).to.equal(true);
  }

  /** Every page of a listing (`limit` a page), concatenated. */
  async function listAll(store: RedisStore, status: TaskStatus[] | undefined, limit: number): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await store.list(status ? { status } : {}, { limit, cursor });
      out.push(...page.tasks.map((t) => t.id));
      cursor = page.cursor;
    } while (cursor !== null);
    return out;
  }

  /**
   * Each bucket at most 128 entries in one listpack, not empty, its scores within its bound and the
   * next one's, and its recorded highest score (if any) at least its highest.
   */
  function checkBuckets(buckets: ReadyBucket[]): void {
    buckets.forEach((b, i) => {
      expect(b.ids.length, `bucket ${b.n}`).to.be.within(1, 128);
      expect(b.encoding, `bucket ${b.n}`).to.be.oneOf(['listpack', 'quicklist']);
      expect(Math.min(...b.scores), `bucket ${b.n}`).to.be.at.least(b.bound);
      if (b.top !== null) expect(b.top, `bucket ${b.n}`).to.be.at.least(Math.max(...b.scores));
      const next = buckets[i + 1];
      if (next) expect(Math.max(...b.scores), `bucket ${b.n}`).to.be.below(next.bound);
    });
  }

  /** The entries of a ready status not yet in its buckets: its pending list's ids, in order. */
  async function pendingIds(store: RedisStore, status: TaskStatus): Promise<string[]> {
    const entries = await suite.raw.lrange(store.keys.readyPending(status), 0, -1);
    return entries.map((e) => e.slice(e.indexOf(':') + 1));
  }

  /** A listing of one task, which puts every ready status's pending entries into its buckets. */
  async function intoBuckets(store: RedisStore): Promise<void> {
    await store.list({}, { limit: 1, cursor: null });
  }

  /** A deterministic shuffle (a linear congruential generator). */
  function shuffled<T>(items: T[], seed: number): T[] {
    const out = [...items];
    let x = seed;
    for (let i = out.length - 1; i > 0; i--) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const j = x % (i + 1);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  it('lists tasks that end in queue order in full buckets of 128, newest queued first, at about a quarter of a skip list\'s memory', async () => {
    const name = appName('ready');
    const store = stores.store(name);
    const { ids, pulled } = await queuedAndPulled(store, 300);
    await finish(store, pulled);

    const buckets = await readyBuckets(suite.raw, keysOf(name), SUCCESS);
    expect(buckets.map((b) => b.ids.length)).to.deep.equal([128, 128, 44]);
    checkBuckets(buckets);
    // Each bucket's highest score is recorded (appends to the last bucket read no bucket).
    expect(buckets.map((b) => b.top)).to.deep.equal(buckets.map((b) => Math.max(...b.scores)));
    // Each entry: the task's listing score (its _tq) less the bucket's base, then its id.
    for (const b of buckets) {
      expect(b.base).to.equal(b.scores[0]);
      for (const e of b.entries) expect(e).to.match(/^\d{1,8}:[0-9A-Za-z]{16}$/);
    }
    const [first] = buckets as [ReadyBucket];
    expect(first.scores[0]).to.equal(Number(await suite.raw.hget(`${prefixOf(name)}t:${first.ids[0]}`, '_tq')));
    const newestFirst = [...ids].reverse();
    expect(await listAll(store, [SUCCESS], 64)).to.deep.equal(newestFirst);
    expect(await listAll(store, undefined, 1000)).to.deep.equal(newestFirst);

    // The same entries in one zset are a skip list.
    const keys = [keysOf(name).readyIndex(SUCCESS), ...buckets.map((b) => keysOf(name).readyBucket(SUCCESS, b.n))];
    const usage = async (key: string) => Number(await suite.raw.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    const sizes = await Promise.all(keys.map(usage));
    const bucketed = sizes.reduce((a, b) => a + b, 0) / 300;
    const one = `${prefixOf(name)}one-zset`;
    await suite.raw.zadd(one, ...buckets.flatMap((b) => b.ids.flatMap((id, i) => [b.scores[i] as number, id])));
    expect(await suite.raw.object('ENCODING', one)).to.equal('skiplist');
    const skipList = (await usage(one)) / 300;
    expect(bucketed, `${bucketed.toFixed(1)} B a task in buckets, ${skipList.toFixed(1)} in one zset`).to.be.below(40).and.below(skipList / 3);
  });

  it('keeps every bucket flat and the order when tasks end out of queue order, some failed, batch after batch', async () => {
    const name = appName('ready-shuffled');
    const store = stores.store(name);
    const { ids, pulled } = await queuedAndPulled(store, 500);
    const order = shuffled(pulled, 7);
    const failed = new Set(ids.filter((_, i) => i % 5 === 0));
    for (let from = 0; from < order.length; from += 37) await finish(store, order.slice(from, from + 37), failed);
    // The few failed tasks of a batch are left pending: into their buckets.
    await intoBuckets(store);

    const success = await readyBuckets(suite.raw, keysOf(name), SUCCESS);
    const failure = await readyBuckets(suite.raw, keysOf(name), FAILURE);
    checkBuckets(success);
    checkBuckets(failure);
    expect(success.flatMap((b) => b.ids)).to.have.length(400);
    expect(failure.flatMap((b) => b.ids)).to.have.length(100);
    const newestFirst = [...ids].reverse();
    expect(await listAll(store, [SUCCESS], 45)).to.deep.equal(newestFirst.filter((id) => !failed.has(id)));
    expect(await listAll(store, [FAILURE], 7)).to.deep.equal(newestFirst.filter((id) => failed.has(id)));
    expect(await listAll(store, [FAILURE, SUCCESS], 33)).to.deep.equal(newestFirst);
    expect(await listAll(store, undefined, 100)).to.deep.equal(newestFirst);
  });

  it('writes batches that end in turns, each a little late, without splitting a bucket: a batch above the last bucket leaves room there for one', async () => {
    const name = appName('ready-turns');
    const store = stores.store(name);
    const { ids, pulled } = await queuedAndPulled(store, 400);
    const batch = (k: number) => pulled.slice(50 * k, 50 * k + 50);
    // Two workers finishing batches of 50 in turns: each batch ends just after the next one.
    for (const k of [0, 2, 1, 4, 3, 6, 5, 7]) await finish(store, batch(k));

    const buckets = await readyBuckets(suite.raw, keysOf(name), SUCCESS);
    checkBuckets(buckets);
    // No bucket was read, sorted and written again: each holds its batches in the order they ended.
    const idsOf = (k: number) => ids.slice(50 * k, 50 * k + 50);
    expect(buckets.map((b) => b.ids)).to.deep.equal([[0], [2, 1], [4, 3], [6, 5], [7]].map((ks) => ks.flatMap(idsOf)));
    expect(await listAll(store, [SUCCESS], 64)).to.deep.equal([...ids].reverse());
    expect(await listAll(store, undefined, 100)).to.deep.equal([...ids].reverse());
  });

  it('leaves the entries of runs that end a few tasks pending, until a batch, a listing of their status or 128 of them come', async () => {
    const name = appName('ready-pending');
    const store = stores.store(name);
    const { ids, pulled } = await queuedAndPulled(store, 300);
    const failed = new Set(ids.filter((_, i) => i % 10 === 0));
    // Runs of 3 tasks: every entry pending, none in a bucket, in the order they ended.
    for (let from = 0; from < 60; from += 3) await finish(store, pulled.slice(from, from + 3), failed);
    const ended = (from: number, to: number, f: (id: string) => boolean) => ids.slice(from, to).filter(f);
    const ok = (id: string) => !failed.has(id);
    const ko = (id: string) => failed.has(id);
    expect(await pendingIds(store, SUCCESS)).to.deep.equal(ended(0, 60, ok));
    expect(await pendingIds(store, FAILURE)).to.deep.equal(ended(0, 60, ko));
    expect(await readyBuckets(suite.raw, keysOf(name), SUCCESS)).to.deep.equal([]);
    // A batch (more than 8 of a status) is written into the buckets with the pending entries of
    // its status; the failed ones of the batch are few: pending too.
    await finish(store, pulled.slice(60, 90), failed);
    expect(await pendingIds(store, SUCCESS)).to.deep.equal([]);
    expect(await pendingIds(store, FAILURE)).to.deep.equal(ended(0, 90, ko));
    let success = await readyBuckets(suite.raw, keysOf(name), SUCCESS);
    checkBuckets(success);
    expect(success.flatMap((b) => b.ids)).to.deep.equal(ended(0, 90, ok));
    // One at a time: the 128th pending entry of a status writes them all into its buckets.
    for (const d of pulled.slice(90, 238)) await finish(store, [d], failed);
    expect(await pendingIds(store, SUCCESS)).to.deep.equal(ended(90, 238, ok).slice(128));
    success = await readyBuckets(suite.raw, keysOf(name), SUCCESS);
    checkBuckets(success);
    expect(success.flatMap((b) => b.ids)).to.deep.equal(ended(0, 90, ok).concat(ended(90, 238, ok).slice(0, 128)));
    // A listing of one status writes its pending entries into its buckets first, not the other's.
    for (let from = 238; from < 300; from += 2) await finish(store, pulled.slice(from, from + 2), failed);
    const newestFirst = [...ids].reverse();
    expect(await listAll(store, [SUCCESS], 40)).to.deep.equal(newestFirst.filter(ok));
    expect(await pendingIds(store, SUCCESS)).to.deep.equal([]);
    expect(await pendingIds(store, FAILURE)).to.have.length(30);
    expect(await listAll(store, undefined, 64)).to.deep.equal(newestFirst);
    expect(await pendingIds(store, FAILURE)).to.deep.equal([]);
    checkBuckets(await readyBuckets(suite.raw, keysOf(name), SUCCESS));
    checkBuckets(await readyBuckets(suite.raw, keysOf(name), FAILURE));
  });

  it('keeps buckets of 128 and the order when tasks end one at a time, in queue order and out of it', async () => {
    const name = appName('ready-alone');
    const store = stores.store(name);
    const { ids, pulled } = await queuedAndPulled(store, 400);
    const held = new Set([5, 70, 140, 200].map((i) => ids[i] as string));
    // 296 one at a time in queue order: each pushed on the pending list, which goes into the
    // buckets whenever it holds 128 (the 40 left wait there).
    const inOrder = pulled.slice(0, 300).filter((d) => !held.has(d.task.id));
    for (const d of inOrder) await finish(store, [d]);
    let buckets = await readyBuckets(suite.raw, keysOf(name), SUCCESS);
    expect(buckets.map((b) => b.ids.length)).to.deep.equal([128, 128]);
    expect(await pendingIds(store, SUCCESS)).to.deep.equal(inOrder.slice(256).map((d) => d.task.id));
    expect(buckets.map((b) => b.top)).to.deep.equal(buckets.map((b) => Math.max(...b.scores)));
    await intoBuckets(store);
    buckets = await readyBuckets(suite.raw, keysOf(name), SUCCESS);
    expect(buckets.map((b) => b.ids.length)).to.deep.equal([128, 128, 40]);
    // Then the rest one at a time, shuffled: those held back go into full buckets (pushed, taken
    // back off, and the bucket split), the others above them, some failed.
    const failed = new Set(ids.filter((_, i) => i >= 300 && i % 3 === 0));
    const rest = shuffled([...pulled.slice(300), ...pulled.filter((d) => held.has(d.task.id))], 11);
    for (const d of rest) await finish(store, [d], failed);
    await intoBuckets(store);
    buckets = await readyBuckets(suite.raw, keysOf(name), SUCCESS);
    checkBuckets(buckets);
    checkBuckets(await readyBuckets(suite.raw, keysOf(name), FAILURE));
    expect(buckets.flatMap((b) => b.ids)).to.have.length(400 - failed.size);
    const newestFirst = [...ids].reverse();
    expect(await listAll(store, undefined, 90)).to.deep.equal(newestFirst);
    expect(await listAll(store, [SUCCESS], 50)).to.deep.equal(newestFirst.filter((id) => !failed.has(id)));
  });

  it('empties buckets as purge deletes their tasks, and drops each emptied one from the index', async () => {
    const name = appName('ready-purge');
    const store = stores.store(name);
    const { ids, pulled } = await queuedAndPulled(store, 300);
    // 256 into the buckets as they end, the last 44 four at a time (left pending): purge puts
    // them in first.
    await finish(store, pulled.slice(0, 256));
    for (let from = 256; from < 300; from += 4) await finish(store, pulled.slice(from, from + 4));
    expect(await pendingIds(store, SUCCESS)).to.have.length(44);
    await storeClockPast(store, (await store.now()) + 2);

    expect(await store.purge(0, 200)).to.equal(200);
    expect(await pendingIds(store, SUCCESS)).to.deep.equal([]);
    const left = ids.filter((_, i) => i >= 200);
    expect((await store.get(ids)).filter(Boolean).map((t) => t?.id)).to.deep.equal(left);
    const buckets = await readyBuckets(suite.raw, keysOf(name), SUCCESS);
    checkBuckets(buckets);
    expect(buckets.flatMap((b) => b.ids).sort()).to.deep.equal([...left].sort());
    expect(await listAll(store, [SUCCESS], 30)).to.deep.equal([...left].reverse());

    expect(await store.purge(0, 1000)).to.equal(100);
    expect(await suite.raw.exists(keysOf(name).readyIndex(SUCCESS), `${prefixOf(name)}rt:${SUCCESS}`)).to.equal(0);
    expect(await suite.raw.keys(`${prefixOf(name)}r:*`)).to.deep.equal([]);
    expect(await listAll(store, undefined, 10)).to.deep.equal([]);
  });

  it('reads a bucket whose highest score is not recorded (as an older version left it) when it fills, and records it', async () => {
    const name = appName('ready-untopped');
    const store = stores.store(name);
    const { ids, pulled } = await queuedAndPulled(store, 200);
    await finish(store, pulled.slice(0, 100));
    await intoBuckets(store);
    const p = prefixOf(name);
    expect(await suite.raw.del(`${p}rt:${SUCCESS}`)).to.equal(1);
    // A task that ended late, alone, goes into that bucket (it fits: its highest score still not
    // recorded); then the rest, queued before it, fill the bucket: read, its highest score found
    // above theirs, so that they are not appended (the bound would break) but the bucket split.
    await finish(store, [pulled[150] as Delivery]);
    await intoBuckets(store);
    await finish(store, [...pulled.slice(100, 150), ...pulled.slice(151)]);
    await intoBuckets(store);

    const buckets = await readyBuckets(suite.raw, keysOf(name), SUCCESS);
    checkBuckets(buckets);
    expect(buckets.flatMap((b) => b.ids).sort()).to.deep.equal([...ids].sort());
    expect(buckets.every((b) => b.top !== null)).to.equal(true);
    expect(await listAll(store, [SUCCESS], 50)).to.deep.equal([...ids].reverse());
  });

  it('lists and purges a ready task an older version listed in s:<code>, merged with those in buckets', async () => {
    const name = appName('ready-old');
    const store = stores.store(name);
    const { ids, pulled } = await queuedAndPulled(store, 3);
    await finish(store, pulled);
    await intoBuckets(store);
    // The middle one listed as an older version did: in s:1, with the same score.
    const p = prefixOf(name);
    const keys = keysOf(name);
    const [bucket] = await readyBuckets(suite.raw, keys, SUCCESS);
    const middle = ids[1] as string;
    const at = bucket?.ids.indexOf(middle) as number;
    expect(await suite.raw.lrem(keys.readyBucket(SUCCESS, bucket?.n as string), 1, bucket?.entries[at] as string)).to.equal(1);
    await suite.raw.zadd(keys.byStatus(SUCCESS), bucket?.scores[at] as number, middle);

    expect(await listAll(store, [SUCCESS], 1)).to.deep.equal([...ids].reverse());
    expect(await listAll(store, undefined, 2)).to.deep.equal([...ids].reverse());
    await storeClockPast(store, (await store.now()) + 2);
    expect(await store.purge(0, 10)).to.equal(3);
    expect(await suite.raw.exists(keys.byStatus(SUCCESS), keys.readyIndex(SUCCESS))).to.equal(0);
    expect(await suite.raw.keys(`${p}r:*`)).to.deep.equal([]);
  });
});
