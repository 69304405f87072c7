/**
 * What only the redis:// store promises: its URL, its key layout (namespace and `{name}` hash
 * tag), a flush that touches nothing else, databases other than 0, and pulls that block.
 */
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { TaskBackend } from '../../src/producer/backend.js';
import { createRedisStore, RedisStore } from '../../src/backends/redis/redis.js';
import { parseRedisUrl, type RedisClient } from '../../src/backends/redis/redis-link.js';
import { ImproperlyConfigured } from '../../src/model/errors.js';
import { JobRegistry } from '../../src/job/registry.js';
import { SUCCESS } from '../../src/model/states.js';
import { dropNamespace, NAMESPACE, rawClient, redisAvailable, specUrl } from './redis-env.js';
import { startWorker } from '../../src/worker/worker-runtime.js';

describe('redis:// URLs', () => {
  it('reads host, port, password, database, namespace and poll timeout', () => {
    const s = parseRedisUrl('redis://:s%40cret@example.com:6380/4?namespace=shop&poll_timeout=0.5');
    expect(s.options).to.include({ host: 'example.com', port: 6380, db: 4, password: 's@cret' });
    expect(s.namespace).to.equal('shop');
    expect(s.pollTimeout).to.equal(0.5);
    expect(s.display).to.equal('redis://example.com:6380/4');
  });

  it('defaults to port 6379, database 0, namespace pulsar-tasks and a 2 s poll timeout', () => {
    const s = parseRedisUrl('redis://localhost');
    expect(s.options).to.include({ host: 'localhost', port: 6379, db: 0 });
    expect(s.options.password).to.equal(undefined);
    expect(s.namespace).to.equal('pulsar-tasks');
    expect(s.pollTimeout).to.equal(2);
  });

  it('uses TLS for rediss://', () => {
    expect(parseRedisUrl('rediss://user:pw@example.com:6390').options).to.deep.include({
      tls: { servername: 'example.com' },
      username: 'user',
      password: 'pw',
    });
  });

  for (const bad of ['http://localhost', 'redis://localhost/x', 'redis://localhost?namespace=a{b}', 'redis://h?poll_timeout=0', 'nonsense']) {
    it(`refuses ${bad} with ImproperlyConfigured`, () => {
      expect(() => parseRedisUrl(bad)).to.throw(ImproperlyConfigured);
    });
  }

  it('refuses an application name with braces, which would break the hash tag', () => {
    expect(() => createRedisStore('redis://localhost', 'a{b}')).to.throw(ImproperlyConfigured);
  });
});

describe('RedisStore on a live Redis', function () {
  let registry: JobRegistry;
  let raw: Redis;
  const open: TaskBackend[] = [];

  before(async function () {
    if (!(await redisAvailable())) this.skip();
    registry = await JobRegistry.load(['jobs/*']);
    raw = rawClient();
    await raw.connect();
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close(1)));
  });

  after(async () => {
    raw?.disconnect();
    await dropNamespace().catch(() => undefined);
    await dropNamespace(3).catch(() => undefined);
  });

  const appName = () => `app-${Math.random().toString(36).slice(2, 8)}`;

  function backend(name: string, url = specUrl()): TaskBackend {
    const b = new TaskBackend(createRedisStore(url, name), { name, url, registry, pollTimeout: 1 });
    open.push(b);
    return b;
  }

  async function appKeys(client: Redis, pattern = `${NAMESPACE}:*`): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    return keys.sort();
  }

  it('puts every key of an app under its namespace with the {name} hash tag', async () => {
    const name = appName();
    const p = backend(name);
    const w = backend(name);
    const scheduler = new TaskBackend(createRedisStore(specUrl(), name), { name, url: specUrl(), registry, schedulePeriodic: true });
    open.push(scheduler);
    await scheduler.tick(scheduler.nextRun?.plus({ seconds: 6 }));
    await p.queueTask('notoverlap', { lag: 5 });
    await p.queueTask('addition', {}, { delay: 60 });
    startWorker(w, { id: `${name}-w`, concurrency: 'inline', pid: process.pid });
    const id = (await p.queueTask('addition', { a: 1, b: 1 })) as string;
    await p.waitForTask(id, 30);
    await p.reportProgress(id, 0.5);
    const keys = await appKeys(raw, `${NAMESPACE}:{${name}}:*`);
    expect(keys.length).to.be.greaterThan(5);
    for (const key of keys) {
      // Redis Cluster hashes the text between the first `{` and the next `}`.
      const open = key.indexOf('{');
      expect(key.slice(open + 1, key.indexOf('}', open)), key).to.equal(name);
      expect(key.startsWith(`${NAMESPACE}:{${name}}:`), key).to.equal(true);
    }
  });

  it('publishes on namespaced channels with the task id as message', async () => {
    const name = appName();
    const p = backend(name);
    const sub = rawClient();
    await sub.connect();
    try {
      const channel = `${NAMESPACE}:{${name}}:task_queued`;
      await sub.subscribe(channel);
      const message = new Promise<[string, string]>((resolve) => sub.once('message', (c: string, m: string) => resolve([c, m])));
      const id = await p.queueTask('addition');
      expect(await message).to.deep.equal([channel, id]);
    } finally {
      sub.disconnect();
    }
  });

  it('flush() leaves unrelated keys in the same database untouched', async () => {
    const name = appName();
    const p = backend(name);
    const neighbour = backend(`${name}x`);
    const unrelated = [`${NAMESPACE}-unrelated:key`, `${NAMESPACE}:plain`, `${NAMESPACE}:{${name}x}:t:zzz`];
    for (const key of unrelated) await raw.set(key, 'keep');
    const otherNamespace = backend(name, specUrl({ namespace: `${NAMESPACE}-other` }));
    try {
      await p.queueTask('addition');
      await p.queueTask('notoverlap', { lag: 1 });
      const theirs = (await neighbour.queueTask('addition')) as string;
      const elsewhere = (await otherNamespace.queueTask('addition')) as string;
      await p.flush();
      expect(await appKeys(raw, `${NAMESPACE}:{${name}}:*`)).to.deep.equal([]);
      for (const key of unrelated) expect(await raw.get(key), key).to.equal('keep');
      expect(await neighbour.getTask(theirs)).to.not.equal(null);
      expect(await otherNamespace.getTask(elsewhere)).to.not.equal(null);
    } finally {
      await raw.del(...unrelated);
      await otherNamespace.flush();
      await neighbour.flush();
    }
  });

  it('flush() also removes a key written by a script that ran while its scan went by', async () => {
    // Seen after a bench run: a monitor's purge, running between two of flush's deletions, wrote
    // the pending entries of a ready listing into a new bucket; the bucket's index entry
    // (`rx:1`), whose key the scan had already passed, outlived the flush.
    const name = appName();
    const store = createRedisStore(specUrl(), name) as RedisStore;
    const p = new TaskBackend(store, { name, url: specUrl(), registry, pollTimeout: 1 });
    open.push(p);
    await p.queueTask('addition');
    const late = `${NAMESPACE}:{${name}}:rx:1`;
    const cmd = store.link.cmd as Redis;
    const unlink = cmd.unlink.bind(cmd);
    let wrote = false;
    cmd.unlink = (async (...keys: string[]) => {
      const n = await unlink(...keys);
      if (!wrote) {
        wrote = true;
        await raw.zadd(late, 1, '1:1');
      }
      return n;
    }) as typeof cmd.unlink;
    let left: string[];
    try {
      await p.flush();
      left = await appKeys(raw, `${NAMESPACE}:{${name}}:*`);
    } finally {
      cmd.unlink = unlink as typeof cmd.unlink;
      await raw.del(late);
    }
    expect(wrote).to.equal(true);
    expect(left).to.deep.equal([]);
  });

  it('works with a namespace on database 3', async () => {
    const name = appName();
    const url = specUrl({}, 3);
    const p = backend(name, url);
    const w = backend(name, url);
    startWorker(w, { id: `${name}-w`, concurrency: 'inline', pid: process.pid });
    const id = (await p.queueTask('addition', { a: 2, b: 3 })) as string;
    expect((await p.waitForTask(id, 30))?.result).to.equal(5);
    const db3 = rawClient(3);
    await db3.connect();
    try {
      expect((await appKeys(db3, `${NAMESPACE}:{${name}}:*`)).length).to.be.greaterThan(0);
      expect(await appKeys(raw, `${NAMESPACE}:{${name}}:*`), 'nothing in database 0').to.deep.equal([]);
      await p.flush();
      expect(await appKeys(db3, `${NAMESPACE}:{${name}}:*`)).to.deep.equal([]);
    } finally {
      db3.disconnect();
    }
  });

  describe('pull', () => {
    const pullOf = (store: RedisStore, waitMs: number) => store.pull({ worker: 'w', max: 5, leaseMs: 30_000, waitMs });

    it('waits for a task queued while it blocks, and answers as soon as it is queued', async () => {
      const name = appName();
      const p = backend(name);
      const store = createRedisStore(specUrl(), name);
      try {
        const started = Date.now();
        const pulling = pullOf(store, 20_000);
        setTimeout(() => void p.queueTask('addition'), 200);
        const tasks = await pulling;
        expect(tasks).to.have.length(1);
        expect(Date.now() - started).to.be.below(10_000);
      } finally {
        await store.close();
      }
    });

    it('answers empty after waitMs when nothing comes', async () => {
      const store = createRedisStore(specUrl(), appName());
      try {
        const started = Date.now();
        expect(await pullOf(store, 300)).to.deep.equal([]);
        expect(Date.now() - started).to.be.at.least(290);
      } finally {
        await store.close();
      }
    });

    it('wakes for a delayed task once its eta passes', async () => {
      const name = appName();
      const p = backend(name);
      const store = createRedisStore(specUrl(), name);
      try {
        const id = await p.queueTask('addition', {}, { delay: 0.3 });
        const started = Date.now();
        const tasks = await pullOf(store, 20_000);
        expect(tasks.map((d) => d.task.id)).to.deep.equal([id]);
        expect(Date.now() - started).to.be.below(10_000);
      } finally {
        await store.close();
      }
    });

    it('resolves empty when the store closes under a blocked pull', async () => {
      const store = createRedisStore(specUrl(), appName());
      const pulling = pullOf(store, 20_000);
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      await store.close();
      expect(await pulling).to.deep.equal([]);
      expect(Date.now() - started).to.be.below(5000);
    });

    it('hands a worker the tasks of a pull whose reply was lost with the connection', async () => {
      const name = appName();
      const p = backend(name);
      const store = createRedisStore(specUrl(), name);
      try {
        const id = await p.queueTask('addition');
        // Fault injection: the pull script runs in Redis, then its reply is lost.
        const link = store.link;
        const run = link.run.bind(link);
        link.run = async <T>(fn: (redis: RedisClient) => Promise<T>, waitMs?: number): Promise<T> => {
          link.run = run;
          await run(fn, waitMs);
          throw new Error('Connection is closed.');
        };
        let error: unknown;
        await pullOf(store, 0).catch((e: unknown) => (error = e));
        expect(String(error)).to.include('Connection is closed');
        const again = await pullOf(store, 0);
        expect(again.map((d) => d.task.id)).to.deep.equal([id]);
        expect(again[0]?.task.redeliveries).to.equal(0);
      } finally {
        await store.close();
      }
    });

    it('gives a task to one of several blocked pulls only', async () => {
      const name = appName();
      const p = backend(name);
      const stores = [1, 2, 3].map(() => createRedisStore(specUrl(), name));
      try {
        const pulls = stores.map((s) => pullOf(s, 1500));
        await new Promise((r) => setTimeout(r, 100));
        const id = await p.queueTask('addition');
        const got = (await Promise.all(pulls)).flat();
        expect(got.map((d) => d.task.id)).to.deep.equal([id]);
        expect((await p.getTask(id as string))?.status).to.not.equal(SUCCESS);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });
  });
});
