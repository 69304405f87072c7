/**
 * Redis going away: on a redis-server this spec owns (a free port, a temporary directory,
 * append-only file), restarted in the middle of a run.
 */
import { expect } from 'chai';
import { TaskBackend } from '../../src/producer/backend.js';
import { createRedisStore, type RedisStore } from '../../src/backends/redis/redis.js';
import { BackendUnavailable } from '../../src/model/errors.js';
import { JobRegistry } from '../../src/job/registry.js';
import { SUCCESS } from '../../src/model/states.js';
import { EventLog } from '../backend.contract.js';
import { freePort, redisServerInstalled, TestRedisServer } from '../support/redis-server.js';
import { startWorker } from '../../src/worker/worker-runtime.js';

/** The time `promise` takes to settle, and its error (if it rejects). */
async function settle(promise: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  let error: unknown = null;
  await promise.catch((e: unknown) => (error = e));
  return { ms: Date.now() - started, error };
}

describe('redis:// when Redis goes away', function () {
  let server: TestRedisServer;
  let registry: JobRegistry;
  const open: TaskBackend[] = [];

  before(async function () {
    if (!redisServerInstalled()) {
      if (process.env.CI) throw new Error('redis-server is not installed (CI never skips the Redis specs)');
      console.warn('\n!!! SKIPPING the Redis outage specs: no redis-server binary (set REDIS_SERVER) !!!\n');
      this.skip();
    }
    registry = await JobRegistry.load(['jobs/*']);
    server = await TestRedisServer.start();
  });

  afterEach(async () => {
    await server?.start();
    await Promise.all(open.splice(0).map((b) => b.close(1)));
  });

  after(async () => {
    await server?.destroy();
  });

  function backend(name: string, url = `${server.url()}?namespace=outage`): TaskBackend {
    const b = new TaskBackend(createRedisStore(url, name), { name, url, registry, pollTimeout: 0.5, leaseTimeout: 60 });
    open.push(b);
    return b;
  }

  it('keeps workers going through a restart: they reconnect and every task completes once', async () => {
    const name = 'restart';
    const p = backend(name);
    const log = new EventLog(p, ['task_done', 'task_started']);
    await p.ensureSubscribed();
    for (const n of [1, 2]) startWorker(backend(name), { id: `w${n}`, concurrency: 'inline', pid: process.pid });

    const items = Array.from({ length: 60 }, (_, i) => ({ jobName: 'asynchronous', kwargs: { lag: 0.05, i } }));
    const ids = (await p.queueTasks(items)) as string[];
    await log.waitFor((seen) => seen.filter(([e]) => e === 'task_done').length >= 10, 30_000);

    await server.stop();
    // While it is down, a producer is told so at once rather than left hanging.
    const queued = await settle(p.queueTask('addition'));
    expect(queued.error).to.be.instanceOf(BackendUnavailable);
    expect(queued.ms).to.be.below(2000);
    const read = await settle(p.getTask(ids[0] as string));
    expect(read.error).to.be.instanceOf(BackendUnavailable);
    await new Promise((r) => setTimeout(r, 300));
    await server.start();
    // Commands fail fast until this producer's connection is back (ioredis backs off up to 1 s).
    await (p.store as RedisStore).link.ready(undefined, 10_000);

    const tasks = await Promise.all(ids.map((id) => p.waitForTask(id, 60)));
    expect(tasks.map((t) => t?.status)).to.deep.equal(ids.map(() => SUCCESS));
    expect(tasks.every((t) => t?.redeliveries === 0), 'no task went back to the queue').to.equal(true);
    expect(await p.numTasks()).to.equal(0);
    const again = (await p.queueTask('addition', { a: 1, b: 2 })) as string;
    expect((await p.waitForTask(again, 30))?.result).to.equal(3);
  });

  it('gives a producer a clear error, not a hang, when Redis is down', async () => {
    const p = backend('down');
    await p.numTasks();
    await server.stop();
    for (const call of [() => p.queueTask('addition'), () => p.numTasks(), () => p.flush()]) {
      const { ms, error } = await settle(call());
      expect(error).to.be.instanceOf(BackendUnavailable);
      expect((error as Error).message).to.match(/Redis redis:\/\/127\.0\.0\.1:\d+\/0 is unavailable/);
      expect(ms).to.be.below(2000);
    }
  });

  it('lets waitForTask ride out an outage that starts before it, until the task is done', async () => {
    const name = 'wait-outage';
    const p = backend(name);
    const [id] = (await p.queueTasks([{ jobName: 'addition', kwargs: { a: 2, b: 3 } }])) as string[];
    await server.stop();
    const waiting = p.waitForTask(id as string, 60);
    let early: unknown = 'pending';
    waiting.then(
      (t) => (early = t),
      (e: unknown) => (early = e),
    );
    // The first reads meet the outage: the wait must still be pending, not rejected.
    await new Promise((r) => setTimeout(r, 300));
    expect(early).to.equal('pending');
    await server.start();
    startWorker(backend(name), { id: `${name}-w`, concurrency: 'inline', pid: process.pid });
    const task = await waiting;
    expect(task?.status).to.equal(SUCCESS);
    expect(task?.result).to.equal(5);
  });

  it('gives a clear error at once when Redis was never reachable', async () => {
    const url = `redis://127.0.0.1:${await freePort()}/0`;
    const p = backend('never', url);
    const { ms, error } = await settle(p.queueTask('addition'));
    expect(error).to.be.instanceOf(BackendUnavailable);
    expect(ms).to.be.below(5000);
  });
});
