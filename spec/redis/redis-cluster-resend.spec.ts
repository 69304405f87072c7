/**
 * A pull whose reply is lost after Redis ran it, on a Redis Cluster: the cluster client sends a
 * command again by itself when its node's connection closes with it in flight (a failover, a
 * killed master, a network cut). A pull run twice must not leave the first run's tasks owned by a
 * worker that never got them: that worker renews its lease while it runs other tasks, so nothing
 * would ever hand them back. A queue of ids just made, run twice, must not queue its tasks twice.
 */
import { expect } from 'chai';
import type { Socket } from 'node:net';
import type { Cluster, Redis } from 'ioredis';
import { ShardedRedisStore } from '../../src/backends/redis/redis-shards.js';
import type { Delivery } from '../../src/store/contract.js';
import { sharedCluster } from '../support/redis-cluster.js';
import { wireTask } from '../support/wire-task.js';
import { NAMESPACE } from './redis-env.js';

/** The connection `cluster` keeps to the master at `port` (ioredis's node instance). */
function nodeAt(cluster: Cluster, port: number): Redis {
  const node = cluster.nodes('master').find((n) => n.options.port === port);
  if (!node) throw new Error(`no connection to the master at port ${port}`);
  return node;
}

/**
 * Drops the next reply that reaches `node` and closes its socket, as a connection cut right after
 * Redis ran a command would: the command ran, its caller never hears of it.
 */
function loseNextReply(node: Redis): Promise<void> {
  const stream = (node as unknown as { stream: Socket }).stream;
  const emit = stream.emit;
  return new Promise((resolve) => {
    stream.emit = function (this: Socket, event: string | symbol, ...args: unknown[]): boolean {
      if (event !== 'data') return emit.apply(this, [event, ...args] as Parameters<Socket['emit']>);
      stream.emit = emit;
      stream.destroy();
      resolve();
      return true;
    } as Socket['emit'];
  });
}

describe('a pull whose reply is lost on a Redis Cluster', function () {
  this.timeout(60_000);

  it('leaves the worker owning only the tasks it received, though the client sent the pull again', async function () {
    const cluster = await sharedCluster();
    if (!cluster) this.skip();
    const name = `resend-${Math.random().toString(36).slice(2, 8)}`;
    const namespace = `${NAMESPACE}-resend`;
    const store = new ShardedRedisStore(cluster.url({ namespace, shards: '1' }), { name });
    try {
      const ids = (await store.queue(Array.from({ length: 12 }, () => wireTask({ name: 'addition' })))) as string[];
      const cmd = store.link.cmd as Cluster;
      const master = await cluster.masterOf(`{${name}}`);
      const node = nodeAt(cmd, master.port);
      const lost = loseNextReply(node);
      const request = { worker: 'w1', max: 4, leaseMs: 30_000, waitMs: 0 };
      let received: Delivery[] = [];
      try {
        received = await store.pull(request);
      } catch {
        // The pull failed on the connection instead: the next one finds what the lost one took.
      }
      await lost;
      // Pull on until the queue is drained; whatever the worker got, it holds.
      for (;;) {
        const more = await store.pull(request).catch(() => null);
        if (more === null) continue;
        if (!more.length) break;
        received = [...received, ...more];
      }
      const fence = await cmd.hgetall(`${namespace}:{${name}}:fence`);
      const owned = Object.entries(fence).filter(([, holder]) => holder.startsWith('w1:')).map(([id]) => id);
      expect(owned.sort(), 'tasks in flight for w1').to.deep.equal(received.map((d) => d.task.id).sort());
      expect(received.map((d) => d.task.id).sort(), 'every task delivered once').to.deep.equal([...ids].sort());
    } finally {
      await store.flush().catch(() => undefined);
      await store.close();
    }
  });
});

describe('a queue whose reply is lost on a Redis Cluster', function () {
  this.timeout(60_000);

  it('stores and queues each task once, though the client sent again a queue of ids just made', async function () {
    const cluster = await sharedCluster();
    if (!cluster) this.skip();
    const name = `resend-${Math.random().toString(36).slice(2, 8)}`;
    const namespace = `${NAMESPACE}-resend`;
    const store = new ShardedRedisStore(cluster.url({ namespace, shards: '1' }), { name });
    try {
      const [first] = (await store.queue([wireTask({ name: 'addition' })])) as [string];
      const cmd = store.link.cmd as Cluster;
      const node = nodeAt(cmd, (await cluster.masterOf(`{${name}}`)).port);
      const tasks = Array.from({ length: 12 }, () => wireTask({ name: 'addition' }));
      const lost = loseNextReply(node);
      // The first send skips the stored-task check (QueueRequestOptions.freshIds); the client's
      // resend of it must not: it would queue every task a second time.
      let ids: (string | null)[] | null = null;
      try {
        ids = await store.queue(tasks, { freshIds: true });
      } catch {
        // The queue failed on the connection instead: Redis may have run it or not.
      }
      await lost;
      const queued = (await cmd.zrange(`${namespace}:{${name}}:queue`, 0, -1)).map((member) => member.split(':')[1]);
      expect(ids, 'the client sent the queue again and heard its reply').to.deep.equal(tasks.map((t) => t.id));
      expect(queued.sort(), 'each task queued once').to.deep.equal([first, ...tasks.map((t) => t.id)].sort());
      const pulled = await store.pull({ worker: 'w1', max: 50, leaseMs: 30_000, waitMs: 0 });
      expect(pulled.map((d) => d.task.id).sort(), 'each delivered once').to.deep.equal([first, ...tasks.map((t) => t.id)].sort());
    } finally {
      await store.flush().catch(() => undefined);
      await store.close();
    }
  });
});
