/**
 * A master of the specs' Redis Cluster is killed (SIGKILL) while a queue spread over six shards
 * runs tasks; its replica is promoted; every task queued, before or during the failover, ends
 * SUCCESS: none is lost. Writes are acknowledged once a replica has them (`wait_replicas=1`),
 * producers queue with idempotency keys and try again while the shard's node is away. The killed
 * node is started again afterwards (it comes back as a replica) so that the cluster stays whole.
 */
import { expect } from 'chai';
import { ShardedRedisStore } from '../../src/backends/redis/redis-shards.js';
import { shardTag } from '../../src/backends/redis/redis-shard-route.js';
import { JobRegistry } from '../../src/job/registry.js';
import { SUCCESS } from '../../src/model/states.js';
import { TaskBackend } from '../../src/producer/backend.js';
import { startWorker } from '../../src/worker/worker-runtime.js';
import { sharedCluster } from '../support/redis-cluster.js';
import { NAMESPACE } from './redis-env.js';

/** Queues `count` additions, each with its own idempotency key, trying again until the store takes them. */
async function queueAll(p: TaskBackend, tag: string, count: number, deadline: number): Promise<string[]> {
  const items = Array.from({ length: count }, (_, i) => ({ jobName: 'addition', kwargs: { a: i, b: 1 }, options: { idempotencyKey: `${tag}-${i}` } }));
  for (;;) {
    try {
      return (await p.queueTasks(items)) as string[];
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe('a sharded queue through a Redis Cluster master failover', function () {
  this.timeout(180_000);

  it('loses no task when a master holding shards is killed while tasks run', async function () {
    const cluster = await sharedCluster();
    if (!cluster) this.skip();
    const name = `failover-${Math.random().toString(36).slice(2, 8)}`;
    const url = cluster.url({ namespace: `${NAMESPACE}-failover`, shards: '6', wait_replicas: '1', wait_timeout: '2000' });
    const registry = await JobRegistry.load(['jobs/*']);
    const backends: TaskBackend[] = [];
    const open = (extra = {}) => {
      const backend = new TaskBackend(new ShardedRedisStore(url, { name }), { name, url, registry, pollTimeout: 1, ...extra });
      backends.push(backend);
      return backend;
    };
    const victim = await cluster.masterOf(`{${shardTag(name, 0, 6)}}`);
    try {
      const p = open();
      const deadline = Date.now() + 150_000;
      const before = await queueAll(p, 'before', 150, deadline);
      for (let w = 0; w < 2; w++) startWorker(open({ concurrentTasks: 4, leaseTimeout: 20 }), { id: `${name}-w${w}`, concurrency: 'inline', pid: process.pid });
      // Some tasks are done, most are still to run when the master goes.
      for (;;) {
        const done = (await p.getTasks({ status: SUCCESS })).length;
        if (done >= 20) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await victim.kill();
      const during = await queueAll(p, 'during', 50, deadline);
      const all = [...before, ...during];
      expect(new Set(all).size).to.equal(200);
      let left = all;
      while (left.length) {
        if (Date.now() > deadline) {
          // What became of them: their status (or "gone"), worker and redeliveries.
          const found = await p.store.get(left).catch(() => []);
          const seen = left.map((id, i) => `${id} ${found[i] ? `${found[i].status} (worker ${found[i].worker ?? '-'}, redeliveries ${found[i].redeliveries})` : 'gone'}`);
          throw new Error(`${left.length} tasks never ended SUCCESS: ${seen.slice(0, 6).join('; ')}`);
        }
        try {
          const tasks = await p.store.get(left);
          left = left.filter((_, i) => tasks[i]?.status !== SUCCESS);
        } catch {
          // the shard's node is away: ask again
        }
        if (left.length) await new Promise((r) => setTimeout(r, 250));
      }
      const ends = await p.store.get(all);
      expect(ends.every((t) => t?.status === SUCCESS && t.result === Number(t.kwargs.a) + 1)).to.equal(true);
      expect(await p.numTasks()).to.equal(0);
    } finally {
      await Promise.all(backends.filter((b) => b.runtime).map((b) => b.close(1)));
      await backends[0]?.store.flush().catch(() => undefined);
      await Promise.all(backends.map((b) => b.close(1)));
      await victim.start();
      await cluster.waitHealthy();
    }
  });
});
