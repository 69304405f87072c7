/**
 * What a task costs on the way from queue to result on redis://, counted in messages, reads and
 * script runs: the producer subscribes only to the events somebody listens to, a wait for a task
 * queued under a live subscription resolves from its task_done (a small finish batch broadcasts
 * the task; one of a larger batch is read once, after it), and a worker whose last pull drained the
 * queue waits for a wake-up instead of running an empty pull first.
 */
import { expect } from 'chai';
import { TaskBackend } from '../../src/producer/backend.js';
import { createRedisStore, type RedisStore } from '../../src/backends/redis/redis.js';
import { STARTED, SUCCESS } from '../../src/model/states.js';
import type { WireTask } from '../../src/model/task.js';
import type { TaskEvent } from '../../src/store/contract.js';
import { specUrl } from './redis-env.js';
import { redisSuite } from './redis-suite.js';
import { countRuns } from './redis-tasks.js';
import { scripts } from '../../src/backends/redis/redis-scripts.js';
import { logSettings } from '../../src/infra/logger.js';

describe('redis:// per-task latency', function () {
  const suite = redisSuite();

  /** A producer backend and a bare worker-side store of a fresh app. */
  function app(): { name: string; producer: TaskBackend; store: RedisStore } {
    const name = `lat-${Math.random().toString(36).slice(2, 8)}`;
    const producer = new TaskBackend(createRedisStore(specUrl(), name), { name, url: specUrl(), registry: suite.registry });
    const store = createRedisStore(specUrl(), name);
    suite.closing.push(() => producer.close(0), () => store.close());
    return { name, producer, store };
  }

  /** Pulls the task `id` as worker 'w' and finishes it SUCCESS. */
  async function runOne(store: RedisStore, id: string): Promise<void> {
    const [delivery] = await store.pull({ worker: 'w', max: 1, leaseMs: 30_000, waitMs: 0 });
    expect(delivery?.task.id).to.equal(id);
    const done: WireTask = { ...(delivery as { task: WireTask }).task, status: SUCCESS, result: 3, worker: 'w', time_ended: Date.now() / 1000 };
    expect(await store.finish(done, { worker: 'w', token: (delivery as { token: number }).token })).to.equal(true);
  }

  /** Counts the producer's task reads; `first` resolves at the first. */
  function countReads(producer: TaskBackend): { reads: () => number; first: Promise<void> } {
    const store = producer.store;
    const get = store.get.bind(store);
    let reads = 0;
    let firstRead = (): void => undefined;
    const first = new Promise<void>((resolve) => (firstRead = resolve));
    store.get = (ids: string[]) => {
      reads += 1;
      firstRead();
      return get(ids);
    };
    return { reads: () => reads, first };
  }

  /** How many clients are subscribed to the channel of each event of app `name`. */
  async function subscribers(store: RedisStore, events: TaskEvent[]): Promise<number[]> {
    const reply = (await suite.raw.call('PUBSUB', 'NUMSUB', ...events.map((e) => store.channel(e)))) as (string | number)[];
    return events.map((_, i) => Number(reply[2 * i + 1]));
  }

  it('logs nothing when a listener goes after the backend closed (no subscription change is tried)', async () => {
    const { producer } = app();
    const listener = (): void => undefined;
    producer.on('task_started', listener);
    await producer.ensureSubscribed();
    const store = producer.store as RedisStore;
    const want = store.wantEvents.bind(store);
    const changes: Promise<void>[] = [];
    store.wantEvents = (events) => {
      const change = want(events);
      changes.push(change);
      return change;
    };
    const lines: string[] = [];
    const write = logSettings.write;
    logSettings.write = (line) => lines.push(line);
    try {
      await producer.close(0);
      producer.off('task_started', listener);
      await Promise.allSettled(changes);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      logSettings.write = write;
    }
    expect(changes, 'subscription changes tried after close').to.have.length(0);
    expect(lines.filter((line) => / ERROR /.test(line))).to.deep.equal([]);
  });

  it('subscribes to task_done only, and to another event only while somebody listens to it', async () => {
    const { producer, store } = app();
    await producer.ensureSubscribed();
    expect(await subscribers(store, ['task_done', 'task_queued', 'task_started'])).to.deep.equal([1, 0, 0]);
    const seen: string[] = [];
    const listener = (id: string) => seen.push(id);
    producer.on('task_started', listener);
    await producer.ensureSubscribed();
    expect(await subscribers(store, ['task_done', 'task_queued', 'task_started'])).to.deep.equal([1, 0, 1]);
    const id = (await producer.queueTask('addition', { a: 1, b: 2 })) as string;
    const [delivery] = await store.pull({ worker: 'w', max: 1, leaseMs: 30_000, waitMs: 0 });
    let heard = (): void => undefined;
    const started = new Promise<void>((resolve) => (heard = resolve));
    producer.on('task_started', heard);
    await store.start({ ...(delivery as { task: WireTask }).task, status: STARTED, worker: 'w' }, { worker: 'w', token: (delivery as { token: number }).token });
    await started;
    expect(seen).to.deep.equal([id]);
    producer.off('task_started', listener);
    producer.off('task_started', heard);
    await producer.ensureSubscribed();
    expect(await subscribers(store, ['task_done', 'task_queued', 'task_started'])).to.deep.equal([1, 0, 0]);
  });

  it('answers a subscribe made while a channel change is on its way only once Redis confirmed the change', async () => {
    // A worker child's event gate (actors/child-events.ts) subscribes on its own store right after
    // the backend asked for the channels of a new listener: its listener must not miss the events
    // of tasks queued as soon as it is told it listens.
    const { store } = app();
    await (await store.subscribe(() => undefined))();
    await store.wantEvents(['task_done', 'task_started']);
    expect(await subscribers(store, ['task_done', 'task_queued', 'task_started'])).to.deep.equal([1, 0, 1]);
    // The last listener of task_started went (a change on its way), then one of task_queued came.
    void store.wantEvents(['task_done']);
    void store.wantEvents(['task_done', 'task_queued']);
    await store.subscribe(() => undefined);
    expect(await subscribers(store, ['task_done', 'task_queued', 'task_started'])).to.deep.equal([1, 1, 0]);
  });

  it('resolves a wait for a task queued under a live subscription from its task_done, without a read', async () => {
    const { producer, store } = app();
    await producer.ensureSubscribed();
    const { reads } = countReads(producer);
    const id = (await producer.queueTask('addition', { a: 1, b: 2 })) as string;
    const waiting = producer.waitForTask(id, 10);
    await runOne(store, id);
    const task = await waiting;
    expect(reads()).to.equal(0);
    // What the broadcast carried is the task as stored: the same as a read gives.
    const read = await producer.getTask(id);
    expect(task?.toJSON()).to.deep.equal(read?.toJSON());
    expect(task?.status).to.equal(SUCCESS);
    expect(task?.result).to.equal(3);
    expect(task?.kwargs).to.deep.equal({ a: 1, b: 2 });
    expect(task?.timeQueued?.toMillis()).to.be.a('number');
  });

  it('reads the tasks of a finish batch larger than four once each, after their task_done (their fields are not broadcast)', async () => {
    const { producer, store } = app();
    await producer.ensureSubscribed();
    const ids = (await producer.queueTasks(Array.from({ length: 5 }, (_, i) => ({ jobName: 'addition', kwargs: { a: i, b: 1 } })))) as string[];
    const { reads } = countReads(producer);
    const waiting = Promise.all(ids.map((id) => producer.waitForTask(id, 10)));
    const deliveries = await store.pull({ worker: 'w', max: 5, leaseMs: 30_000, waitMs: 0 });
    expect(deliveries).to.have.length(5);
    // Finished in one turn: one finish script for the five.
    const runs = await countRuns('finish', async () => {
      const saved = await Promise.all(deliveries.map(({ task, token }) => store.finish({ ...task, status: SUCCESS, result: 1, worker: 'w' }, { worker: 'w', token })));
      expect(saved).to.deep.equal([true, true, true, true, true]);
    });
    expect(runs).to.equal(1);
    expect((await waiting).map((t) => t?.status)).to.deep.equal([SUCCESS, SUCCESS, SUCCESS, SUCCESS, SUCCESS]);
    expect(reads()).to.equal(5);
  });

  it('hands task_done listeners the stored task of a small finish batch, and nothing for a larger one', async () => {
    const { producer, store } = app();
    const heard = new Map<string, WireTask | null | undefined>();
    let last = '';
    let lastHeard = (): void => undefined;
    const gotLast = new Promise<void>((resolve) => (lastHeard = resolve));
    await (producer.store as RedisStore).subscribe((event, id, stored) => {
      if (event !== 'task_done') return;
      heard.set(id, stored?.());
      if (id === last) lastHeard();
    });
    const one = (await producer.queueTask('addition', { a: 1, b: 2 })) as string;
    await runOne(store, one);
    const five = (await producer.queueTasks(Array.from({ length: 5 }, (_, i) => ({ jobName: 'addition', kwargs: { a: i, b: 1 } })))) as string[];
    // The last task_done to come: every one before it arrived first.
    last = five[4] as string;
    const deliveries = await store.pull({ worker: 'w', max: 5, leaseMs: 30_000, waitMs: 0 });
    await Promise.all(deliveries.map(({ task, token }) => store.finish({ ...task, status: SUCCESS, result: 1, worker: 'w' }, { worker: 'w', token })));
    await gotLast;
    const [stored] = await store.get([one]);
    expect(heard.get(one)).to.deep.equal(stored);
    for (const id of five) expect(heard.has(id) && heard.get(id) === undefined, id).to.equal(true);
  });

  it('announces a small finish batch from the finish script itself, and only the finishes that were saved', async () => {
    const { producer, store } = app();
    const heard: string[] = [];
    let doneHeard = (): void => undefined;
    const gotDone = new Promise<void>((resolve) => (doneHeard = resolve));
    await (producer.store as RedisStore).subscribe((event, id, stored) => {
      if (event === 'task_queued') return;
      heard.push(`${event} ${id} ${stored ? 'with task' : 'alone'}`);
      if (event === 'task_done') doneHeard();
    });
    const [a, b] = (await producer.queueTasks([{ jobName: 'addition', kwargs: { a: 1, b: 1 } }, { jobName: 'addition', kwargs: { a: 2, b: 1 } }])) as [string, string];
    const deliveries = await store.pull({ worker: 'w', max: 2, leaseMs: 30_000, waitMs: 0 });
    const [da, db] = deliveries as [(typeof deliveries)[0], (typeof deliveries)[0]];
    expect([da.task.id, db.task.id]).to.deep.equal([a, b]);
    // One batch of two: a's finish under its delivery, b's under a stale token (fenced off).
    let saved: boolean[] = [];
    const finishes = await countRuns('finish', async () => {
      saved = await Promise.all([
        store.finish({ ...da.task, status: SUCCESS, result: 2, worker: 'w' }, { worker: 'w', token: da.token }),
        store.finish({ ...db.task, status: SUCCESS, result: 3, worker: 'w' }, { worker: 'w', token: db.token + 1000 }),
      ]);
    });
    expect(finishes).to.equal(1);
    expect(saved).to.deep.equal([true, false]);
    await gotDone;
    // The fenced-off write broadcast nothing; a's came with its task. Another task after it: the
    // subscription delivers in order, so nothing about b can still be on its way once it arrived.
    const c = (await producer.queueTask('addition', { a: 3, b: 1 })) as string;
    const heardC = new Promise<void>((resolve) => producer.on('task_done', (id) => id === c && resolve()));
    await runOne(store, c);
    await heardC;
    expect(heard.filter((line) => !line.includes(c))).to.deep.equal([`task_done ${a} with task`]);
    expect((await store.get([b]))[0]?.status).to.not.equal(SUCCESS);
  });

  it('ends at once, without a read, a wait that starts after its task_done handed the task', async () => {
    const { producer, store } = app();
    await producer.ensureSubscribed();
    const { reads } = countReads(producer);
    const id = (await producer.queueTask('addition', { a: 1, b: 2 })) as string;
    const done = new Promise<void>((resolve) => producer.on('task_done', (doneId) => doneId === id && resolve()));
    await runOne(store, id);
    await done;
    const task = await producer.waitForTask(id, 10);
    expect(task?.status).to.equal(SUCCESS);
    expect(task?.result).to.equal(3);
    expect(reads()).to.equal(0);
  });

  it('reads at once a task whose task_done arrived, without the task, before the wait', async () => {
    const { producer, store } = app();
    await producer.ensureSubscribed();
    const ids = (await producer.queueTasks(Array.from({ length: 5 }, (_, i) => ({ jobName: 'addition', kwargs: { a: i, b: 1 } })))) as string[];
    const last = ids[4] as string;
    const done = new Promise<void>((resolve) => producer.on('task_done', (doneId) => doneId === last && resolve()));
    const deliveries = await store.pull({ worker: 'w', max: 5, leaseMs: 30_000, waitMs: 0 });
    // One finish batch of five: no task in its broadcast.
    await Promise.all(deliveries.map(({ task, token }) => store.finish({ ...task, status: SUCCESS, result: 1, worker: 'w' }, { worker: 'w', token })));
    await done;
    const { reads } = countReads(producer);
    expect((await producer.waitForTask(ids[0] as string, 10))?.status).to.equal(SUCCESS);
    expect(reads()).to.equal(1);
  });

  it('reads first again once the subscriber connection dropped after the task was queued', async () => {
    const { producer, store } = app();
    await producer.ensureSubscribed();
    const { reads, first } = countReads(producer);
    const id = (await producer.queueTask('addition', { a: 1, b: 2 })) as string;
    // A task_done published while the subscriber is down would be lost: the wait cannot rely on it.
    const sub = (producer.store as RedisStore).link.subscriber;
    const back = new Promise<void>((resolve) => sub.once('ready', () => resolve()));
    sub.disconnect(true);
    await back;
    // The subscription is live again (a task_done arrives) before the wait starts.
    const other = (await producer.queueTask('addition', { a: 2, b: 2 })) as string;
    const heard = new Promise<void>((resolve) => producer.on('task_done', (doneId) => doneId === other && resolve()));
    const deliveries = await store.pull({ worker: 'w', max: 5, leaseMs: 30_000, waitMs: 0 });
    expect(deliveries.map((d) => d.task.id)).to.deep.equal([id, other]);
    const finish = async ({ task, token }: { task: WireTask; token: number }) =>
      expect(await store.finish({ ...task, status: SUCCESS, result: 4, worker: 'w' }, { worker: 'w', token })).to.equal(true);
    await finish(deliveries[1] as { task: WireTask; token: number });
    await heard;
    expect(reads()).to.equal(0);
    const waiting = producer.waitForTask(id, 10);
    await first;
    expect(reads()).to.equal(1);
    await finish(deliveries[0] as { task: WireTask; token: number });
    expect((await waiting)?.status).to.equal(SUCCESS);
  });

  it('goes from a pull that drained the queue straight to the blocking wait, without an empty pull', async () => {
    const { producer, store } = app();
    await producer.queueTask('addition', { a: 1, b: 2 });
    expect(await store.pull({ worker: 'w', max: 5, leaseMs: 30_000, waitMs: 0 })).to.have.length(1);
    // Nothing comes: one pull script run, after the wait (an empty one before it would make two).
    const runs = await countRuns('pull', async () => {
      expect(await store.pull({ worker: 'w', max: 5, leaseMs: 30_000, waitMs: 200 })).to.deep.equal([]);
    });
    expect(runs).to.equal(1);
  });

  it('sends the pull script that follows a wake-up with the wait, on the blocking connection', async () => {
    const { producer, store } = app();
    await producer.queueTask('addition', { a: 1, b: 2 });
    expect(await store.pull({ worker: 'w', max: 5, leaseMs: 30_000, waitMs: 0 })).to.have.length(1);
    const queued = await producer.queueTask('addition', { a: 2, b: 2 });
    const cmd = store.link.cmd;
    const send = cmd.sendCommand.bind(cmd);
    let onCmd = 0;
    cmd.sendCommand = ((command: { name: string }) => {
      if (command.name === 'evalsha' || command.name === 'eval' || command.name === 'fcall') onCmd += 1;
      return send(command as never);
    }) as typeof cmd.sendCommand;
    try {
      const runs = await countRuns('pull', async () => {
        const got = await store.pull({ worker: 'w', max: 5, leaseMs: 30_000, waitMs: 60_000 });
        expect(got.map((d) => d.task.id)).to.deep.equal([queued]);
      });
      // One pull script run, and not on the command connection: no round trip after the wake-up.
      expect(runs).to.equal(1);
      expect(onCmd).to.equal(0);
    } finally {
      cmd.sendCommand = send;
    }
  });

  it('hands back what the pull sent with a wait takes once a local interrupt ended that wait', async () => {
    const { producer, store } = app();
    await producer.queueTask('addition', { a: 1, b: 2 });
    expect(await store.pull({ worker: 'w', max: 5, leaseMs: 30_000, waitMs: 0 })).to.have.length(1);
    const conn = store.link.blocking;
    const blpop = conn.blpop.bind(conn);
    let parked = (): void => undefined;
    const isParked = new Promise<void>((resolve) => (parked = resolve));
    conn.blpop = ((...args: Parameters<typeof blpop>) => {
      const reply = blpop(...args);
      parked();
      return reply;
    }) as typeof conn.blpop;
    const release = scripts.release.run;
    try {
      const waiting = store.pull({ worker: 'w', max: 5, leaseMs: 30_000, waitMs: 60_000 });
      await isParked;
      // A local interrupt only (release of nothing): the BLPOP and its pull stay queued on Redis.
      await store.release('w', []);
      expect(await waiting).to.deep.equal([]);
      let released = (): void => undefined;
      const handedBack = new Promise<void>((resolve) => (released = resolve));
      scripts.release.run = function (this: typeof scripts.release, ...args: Parameters<typeof release>) {
        return release.apply(this, args).finally(released);
      };
      // Its wake-up ends the BLPOP: the pull behind it takes the task for 'w', which hands it back.
      const queued = await producer.queueTask('addition', { a: 2, b: 2 });
      await handedBack;
      const other = await store.pull({ worker: 'w2', max: 5, leaseMs: 30_000, waitMs: 0 });
      expect(other.map((d) => d.task.id)).to.deep.equal([queued]);
    } finally {
      conn.blpop = blpop;
      scripts.release.run = release;
    }
  });

  it('wakes the pull after a drained one for the next delayed task, and for a task queued meanwhile', async () => {
    const { producer, store } = app();
    await producer.queueTask('addition', { a: 1, b: 2 });
    const delayed = await producer.queueTask('addition', { a: 2, b: 2 }, { delay: 0.3 });
    expect(await store.pull({ worker: 'w', max: 5, leaseMs: 30_000, waitMs: 0 })).to.have.length(1);
    // The drained pull's reply carried the delayed task's eta: the wait ends for it.
    const got = await store.pull({ worker: 'w', max: 5, leaseMs: 30_000, waitMs: 60_000 });
    expect(got.map((d) => d.task.id)).to.deep.equal([delayed]);
    // A task queued after a drained pull, before the next one: its wake-up token ends the wait.
    const queued = await producer.queueTask('addition', { a: 3, b: 2 });
    expect((await store.pull({ worker: 'w', max: 5, leaseMs: 30_000, waitMs: 60_000 })).map((d) => d.task.id)).to.deep.equal([queued]);
  });
});
