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

/** A one-shard app of its own on the shared Cluster: its store, the client's connection to its master. */
interface ClusterApp {
  store: ShardedRedisStore;
  cmd: Cluster;
  /** Keys' prefix of the app. */
  prefix: string;
  /** The client's connection to the app's master (once the store has connected). */
  master(): Promise<Redis>;
}

/** Runs `body` on a fresh app of the shared Cluster (skips without one), then flushes and closes it. */
async function onClusterApp(ctx: Mocha.Context, body: (app: ClusterApp) => Promise<void>): Promise<void> {
  const cluster = await sharedCluster();
  if (!cluster) return ctx.skip();
  const name = `resend-${Math.random().toString(36).slice(2, 8)}`;
  const namespace = `${NAMESPACE}-resend`;
  const store = new ShardedRedisStore(cluster.url({ namespace, shards: '1' }), { name });
  const cmd = store.link.cmd as Cluster;
  try {
    await body({
      store,
      cmd,
      prefix: `${namespace}:{${name}}:`,
      master: async () => nodeAt(cmd, (await cluster.masterOf(`{${name}}`)).port),
    });
  } finally {
    await store.flush().catch(() => undefined);
    await store.close();
  }
}

describe('a pull whose reply is lost on a Redis Cluster', function () {
  this.timeout(60_000);

  it('leaves the worker owning only the tasks it received, though the client sent the pull again', async function () {
    await onClusterApp(this, async ({ store, cmd, prefix, master }) => {
      const ids = (await store.queue(Array.from({ length: 12 }, () => wireTask({ name: 'addition' })))) as string[];
      const lost = loseNextReply(await master());
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
      const fence = await cmd.hgetall(`${prefix}fence`);
      const owned = Object.entries(fence).filter(([, holder]) => holder.startsWith('w1:')).map(([id]) => id);
      expect(owned.sort(), 'tasks in flight for w1').to.deep.equal(received.map((d) => d.task.id).sort());
      expect(received.map((d) => d.task.id).sort(), 'every task delivered once').to.deep.equal([...ids].sort());
    });
  });
});

describe('a queue whose reply is lost on a Redis Cluster', function () {
  this.timeout(60_000);

  it('stores and queues each task once, though the client sent again a queue of ids just made', async function () {
    await onClusterApp(this, async ({ store, cmd, prefix, master }) => {
      const [first] = (await store.queue([wireTask({ name: 'addition' })])) as [string];
      const tasks = Array.from({ length: 12 }, () => wireTask({ name: 'addition' }));
      const lost = loseNextReply(await master());
      // The first send skips the stored-task check (QueueRequestOptions.freshIds); the client's
      // resend of it must not: it would queue every task a second time.
      let ids: (string | null)[] | null = null;
      try {
        ids = await store.queue(tasks, { freshIds: true });
      } catch {
        // The queue failed on the connection instead: Redis may have run it or not.
      }
      await lost;
      const all = [first, ...tasks.map((t) => t.id)].sort();
      const queued = (await cmd.zrange(`${prefix}queue`, 0, -1)).map((member) => member.split(':')[1]);
      expect(ids, 'the client sent the queue again and heard its reply').to.deep.equal(tasks.map((t) => t.id));
      expect(queued.sort(), 'each task queued once').to.deep.equal(all);
      const pulled = await store.pull({ worker: 'w1', max: 50, leaseMs: 30_000, waitMs: 0 });
      expect(pulled.map((d) => d.task.id).sort(), 'each delivered once').to.deep.equal(all);
    });
  });
});
