/**
 * One task at a time on redis://: a worker whose last pull drained the queue goes to its blocking
 * wait a couple of turns later; a finish made meanwhile leaves with that wait, in the same write
 * on the blocking connection (finish, then BLPOP, then the pull behind it), instead of a write of
 * its own on the command connection. Its answer, fencing and retry stay those of any finish.
 */
import { expect } from 'chai';
import type { RedisClient } from '../../src/backends/redis/redis-link.js';
import { TaskBackend } from '../../src/producer/backend.js';
import { createRedisStore, type RedisStore } from '../../src/backends/redis/redis.js';
import { SUCCESS } from '../../src/model/states.js';
import type { WireTask } from '../../src/model/task.js';
import type { Delivery } from '../../src/store/contract.js';
import { specUrl } from './redis-env.js';
import { redisSuite } from './redis-suite.js';

describe('redis:// finish carried by the blocking wait', function () {
  const suite = redisSuite();

  function app(): { producer: TaskBackend; store: RedisStore } {
    const name = `carry-${Math.random().toString(36).slice(2, 8)}`;
    const producer = new TaskBackend(createRedisStore(specUrl(), name), { name, url: specUrl(), registry: suite.registry });
    const store = createRedisStore(specUrl(), name);
    suite.closing.push(() => producer.close(0), () => store.close());
    return { producer, store };
  }

  /** Records the names of the commands sent on `conn` until the returned function is called. */
  function record(conn: RedisClient): { names: string[]; stop: () => void } {
    const send = conn.sendCommand.bind(conn);
    const names: string[] = [];
    conn.sendCommand = ((command: { name: string }) => {
      names.push(command.name);
      return send(command as never);
    }) as typeof conn.sendCommand;
    return { names, stop: () => (conn.sendCommand = send) };
  }

  /** A fresh app whose one task worker 'w' pulled with room for more: the queue is drained. */
  async function drained(): Promise<{ producer: TaskBackend; store: RedisStore } & Delivery> {
    const { producer, store } = app();
    await producer.ensureSubscribed();
    return { producer, store, ...(await pulledAlone(producer, store)) };
  }

  /** Queues one task and pulls it as worker 'w' with room for more: the queue is drained. */
  async function pulledAlone(producer: TaskBackend, store: RedisStore): Promise<Delivery> {
    const id = (await producer.queueTask('addition', { a: 1, b: 2 })) as string;
    const [delivery, ...more] = await store.pull({ worker: 'w', max: 5, leaseMs: 30_000, waitMs: 0 });
    expect(delivery?.task.id).to.equal(id);
    expect(more).to.have.length(0);
    // The blocking connection is made on first use: once ready, it can carry a finish.
    await store.link.ready(store.link.blocking, 5000);
    return delivery as Delivery;
  }

  const done = (task: WireTask): WireTask => ({ ...task, status: SUCCESS, result: 3, worker: 'w', time_ended: Date.now() / 1000 });

  /** Worker 'w' pulls again, with room and time to wait: after a drained pull, it is about to park. */
  const pullAgain = (store: RedisStore): Promise<Delivery[]> => store.pull({ worker: 'w', max: 5, leaseMs: 30_000, waitMs: 60_000 });

  /** The wait is a wait as any: a task queued now is what it brings. */
  async function bringsNext(producer: TaskBackend, parked: Promise<Delivery[]>): Promise<void> {
    const next = (await producer.queueTask('addition', { a: 2, b: 2 })) as string;
    expect((await parked).map((d) => d.task.id)).to.deep.equal([next]);
  }

  it('sends a finish made while its worker is about to wait with that wait, on the blocking connection', async () => {
    const { producer, store, task, token } = await drained();
    const waiting = producer.waitForTask(task.id, 10);
    const cmd = record(store.link.cmd);
    const blocking = record(store.link.blocking);
    try {
      // The worker pulls again at once (its slots are free); its job ends in the same turn.
      const parked = pullAgain(store);
      expect(await store.finish(done(task), { worker: 'w', token })).to.equal(true);
      const finished = await waiting;
      expect(finished?.status).to.equal(SUCCESS);
      expect(finished?.result).to.equal(3);
      // Nothing on the command connection; the finish (behind its PING), the wait, the pull.
      expect(cmd.names).to.deep.equal([]);
      expect(blocking.names).to.have.length(4);
      expect(blocking.names.slice(0, 3)).to.deep.equal(['ping', blocking.names[1], 'blpop']);
      expect(blocking.names[3]).to.equal(blocking.names[1]);
      await bringsNext(producer, parked);
    } finally {
      cmd.stop();
      blocking.stop();
    }
  });

  it('fences a carried finish like any other: a stale token is refused and nothing is stored', async () => {
    const { producer, store, task, token } = await drained();
    const blocking = record(store.link.blocking);
    try {
      const parked = pullAgain(store);
      expect(await store.finish(done(task), { worker: 'w', token: token + 1000 })).to.equal(false);
      expect(blocking.names.slice(0, 1)).to.deep.equal(['ping']);
      expect(blocking.names).to.include('blpop');
      expect((await store.get([task.id]))[0]?.status).to.not.equal(SUCCESS);
      // The delivery is still the worker's: its own finish is saved.
      expect(await store.finish(done(task), { worker: 'w', token })).to.equal(true);
      await bringsNext(producer, parked);
    } finally {
      blocking.stop();
    }
  });

  it('sends a finish on the command connection when the worker goes to its wait no more (interrupted first)', async () => {
    const { store, task, token } = await drained();
    const cmd = record(store.link.cmd);
    try {
      const parked = pullAgain(store);
      const finishing = store.finish(done(task), { worker: 'w', token });
      // A local interrupt (release of nothing) ends the pull before it parks.
      await store.release('w', []);
      expect(await parked).to.deep.equal([]);
      expect(await finishing).to.equal(true);
      // It went on its own, behind its PING, on the command connection.
      expect(cmd.names).to.include('ping');
      expect((await store.get([task.id]))[0]?.status).to.equal(SUCCESS);
    } finally {
      cmd.stop();
    }
  });

  it('retries a carried finish on the command connection when the blocking connection drops with it', async () => {
    const { store, task, token } = await drained();
    const conn = store.link.blocking;
    const send = conn.sendCommand.bind(conn);
    let cut = false;
    let afterPing = false;
    // The blocking connection dies as the finish (the command behind its PING) is written on it.
    conn.sendCommand = ((command: { name: string }) => {
      const sent = send(command as never);
      if (!cut && afterPing) {
        cut = true;
        conn.disconnect(true);
      }
      afterPing = command.name === 'ping';
      return sent;
    }) as typeof conn.sendCommand;
    try {
      const parked = pullAgain(store).catch((err: unknown) => err);
      expect(await store.finish(done(task), { worker: 'w', token })).to.equal(true);
      expect(cut).to.equal(true);
      expect((await store.get([task.id]))[0]?.status).to.equal(SUCCESS);
      await parked;
    } finally {
      conn.sendCommand = send;
    }
  });
});
