/**
 * Every script of the redis:// store is bounded: with 100k tasks stored, recovering a worker that
 * owns nothing, listings whose filters match nothing and a 50k bulk queue each keep every Redis
 * command under 20 ms, and their work does not grow with the tasks stored.
 *
 * On a redis-server this spec owns. Time is Redis's own CPU time per command (its main thread's
 * /proc schedstat, read around each command sent alone), not wall time: on a shared loaded machine
 * wall time also counts the moments other processes held the CPU, which no script can help. The
 * work is Redis's own count of the commands each operation ran (INFO commandstats), which is exact.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/backends/redis/redis.js';
import { scripts } from '../../src/backends/redis/redis-scripts.js';
import { FAILURE, SUCCESS } from '../../src/model/states.js';
import type { StoreFilter } from '../../src/store/contract.js';
import { redisServerInstalled, TestRedisServer } from '../support/redis-server.js';
import { wireTask } from './redis-tasks.js';

describe('redis:// scripts stay bounded with 100k tasks stored', function () {
  this.timeout(600_000);
  let server: TestRedisServer;
  let admin: Redis;
  let store: RedisStore;
  let schedstat = '';

  before(async function () {
    if (!redisServerInstalled()) {
      if (process.env.CI) throw new Error('redis-server is not installed (CI never skips the Redis specs)');
      console.warn('\n!!! SKIPPING the bounded-scripts spec: no redis-server binary (set REDIS_SERVER) !!!\n');
      this.skip();
    }
    server = await TestRedisServer.start();
    admin = new Redis(server.url(), { maxRetriesPerRequest: 1 });
    const pid = /process_id:(\d+)/.exec(await admin.info('server'))?.[1];
    schedstat = `/proc/${pid}/task/${pid}/schedstat`;
    // No background AOF rewrite: its fork() stalls Redis for its own reasons, not a script's.
    await admin.config('SET', 'auto-aof-rewrite-percentage', '0');
    store = new RedisStore(`${server.url()}?namespace=bounded`, { name: 'big' });
    for (let i = 0; i < 10; i++) {
      await store.queue(Array.from({ length: 10_000 }, (_, k) => wireTask({ kwargs: { i, k }, lock_id: k % 10 === 0 ? `lock-${i}-${k}` : null })));
    }
    // Some history: tasks pulled and finished, tasks held, so that every listing has some to skip.
    for (let round = 0; round < 5; round++) {
      const pulled = await store.pull({ worker: 'busy', max: 200, leaseMs: 600_000, waitMs: 0 });
      await Promise.all(pulled.map((d) => store.finish({ ...d.task, status: SUCCESS, result: 1 }, { worker: 'busy', token: d.token })));
    }
    await store.pull({ worker: 'holder', max: 100, leaseMs: 600_000, waitMs: 0 });
  });

  after(async () => {
    await store?.close();
    admin?.disconnect();
    await server?.destroy();
  });

  /** Redis's main thread CPU time so far, ms. */
  const redisCpuMs = (): number => Number(readFileSync(schedstat, 'utf8').split(' ')[0]) / 1e6;

  /** Commands Redis ran so far (every call, inside scripts too). */
  async function commandsRun(): Promise<number> {
    const stats = String(await admin.info('commandstats'));
    let total = 0;
    for (const m of stats.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) if (m[1] !== 'info') total += Number(m[2]);
    return total;
  }

  /** Runs `op` alone; its Redis CPU time and the commands Redis ran for it. */
  async function measure(op: () => Promise<unknown>): Promise<{ cpuMs: number; commands: number }> {
    const before = await commandsRun();
    const cpu = redisCpuMs();
    await op();
    const cpuMs = redisCpuMs() - cpu;
    return { cpuMs, commands: (await commandsRun()) - before };
  }

  /**
   * Like measure, for an operation that changes nothing: run again, up to three times in all, while
   * it took `budgetMs` or more (this machine is shared: others slow Redis down now and then, through
   * cache and frequency; a slow script is slow every time). The fastest run counts.
   */
  async function measureRead(op: () => Promise<unknown>, budgetMs = 20): Promise<{ cpuMs: number; commands: number }> {
    let best = await measure(op);
    for (let attempt = 1; attempt < 3 && best.cpuMs >= budgetMs; attempt++) {
      const again = await measure(op);
      if (again.cpuMs < best.cpuMs) best = again;
    }
    return best;
  }

  it('recovers a worker that owns nothing, and finds no expired lease, at a cost independent of the 100k tasks', async () => {
    expect(await admin.dbsize()).to.be.greaterThan(100_000);
    for (const op of [
      () => store.recover({ maxRedeliveries: 1, worker: 'idle' }),
      () => store.recover({ maxRedeliveries: 1 }),
      () => store.release('idle'),
    ]) {
      const { cpuMs, commands } = await measureRead(op);
      console.log(`      ${String(op).replace(/\s+/g, ' ').replace(/^\(\)\s*=>\s*/, '')}: ${cpuMs.toFixed(2)} ms, ${commands} commands`);
      expect(cpuMs, String(op)).to.be.below(20);
      expect(commands, String(op)).to.be.below(12);
    }
  });

  it('answers listings whose filter matches nothing within one bounded call', async () => {
    const filters: StoreFilter[] = [{ status: [FAILURE] }, { name: 'nope' }, { name: 'addition', status: [FAILURE] }, { from_task: 'nobody' }];
    for (const filter of filters) {
      let page: Awaited<ReturnType<RedisStore['list']>> | null = null;
      const { cpuMs, commands } = await measureRead(async () => (page = await store.list(filter, { limit: 100, cursor: null })));
      expect(page!.tasks, JSON.stringify(filter)).to.deep.equal([]);
      console.log(`      list ${JSON.stringify(filter)}: ${cpuMs.toFixed(2)} ms, ${commands} commands`);
      expect(cpuMs, JSON.stringify(filter)).to.be.below(20);
      // At most the list budget (1000 index entries) examined, whatever is stored, and a few more
      // (each ready status's pending entries read, to go into its buckets first).
      expect(commands, JSON.stringify(filter)).to.be.below(1030);
    }
    // A full page costs its rows, not the store: 1000 rows of 100k stored. Its work is counted
    // exactly; its time is held to a bound an O(stored) scan (~350 ms here) could never meet.
    let full: Awaited<ReturnType<RedisStore['list']>> | null = null;
    const { cpuMs, commands } = await measureRead(async () => (full = await store.list({ status: [SUCCESS] }, { limit: 1000, cursor: null })), 50);
    console.log(`      list a full page of 1000 rows: ${cpuMs.toFixed(2)} ms, ${commands} commands`);
    expect(full!.tasks).to.have.length(1000);
    expect(commands, 'a full page: two reads per row and a few more').to.be.below(2020);
    expect(cpuMs, 'a full page').to.be.below(50);
  });

  it('queues 50k tasks in bounded scripts: no script over 20 ms of Redis time', async () => {
    // Each chunk's script is timed alone (the store sends them together; here they go one by one).
    const run = scripts.queue.run;
    const costs: number[] = [];
    let chain: Promise<unknown> = Promise.resolve();
    scripts.queue.run = function (this: typeof scripts.queue, ...args: Parameters<typeof run>) {
      const next = chain.then(async () => {
        const cpu = redisCpuMs();
        const reply = await run.apply(this, args);
        costs.push(redisCpuMs() - cpu);
        return reply;
      });
      chain = next.catch(() => undefined);
      return next;
    };
    let ids: (string | null)[] = [];
    let commands = 0;
    try {
      ({ commands } = await measure(async () => (ids = await store.queue(Array.from({ length: 50_000 }, (_, k) => wireTask({ kwargs: { bulk: k } }))))));
    } finally {
      scripts.queue.run = run;
    }
    expect(ids.filter((id) => id !== null)).to.have.length(50_000);
    const sorted = [...costs].sort((a, b) => a - b);
    console.log(
      `      ${costs.length} scripts, Redis CPU per script: median ${sorted[sorted.length >> 1]?.toFixed(1)} ms, max ${sorted.at(-1)?.toFixed(1)} ms; ${(commands / 50_000).toFixed(1)} commands per task`,
    );
    expect(costs.length).to.equal(500);
    expect(commands / costs.length, 'commands per script: the chunk, not the store').to.be.below(100 * 9);
    // This machine is shared: a script may be slowed by others now and then (cache, frequency,
    // hypervisor). One over 20 ms is queued again, alone: a script slow by itself is slow twice.
    const slow = costs.filter((ms) => ms >= 20);
    expect(slow.length, `scripts over 20 ms: ${slow.map((ms) => ms.toFixed(1)).join(', ')}`).to.be.at.most(50);
    for (const first of slow) {
      const again = await measure(() => store.queue(Array.from({ length: 100 }, (_, k) => wireTask({ kwargs: { again: k } }))));
      expect(again.cpuMs, `a chunk of 100 took ${first.toFixed(1)} ms, then ${again.cpuMs.toFixed(1)} ms`).to.be.below(20);
    }
  });
});
