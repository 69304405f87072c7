/**
 * Task events in worker children (local://): a child gets events only while one of its jobs
 * listens, only the events listened to, a turn's events in one IPC message; the subscription ends
 * with the last listener, and with the child.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Arbiter } from '../../actors/arbiter.js';
import type { LocalStoreHandle } from '../../actors/local-store.js';
import type { TaskQueue } from '../../src/app/taskqueue.js';
import { SUCCESS } from '../../src/model/states.js';
import { eventually, startQueue } from '../support/runtime.js';
import { dropNamespace, redisAvailable, specUrl } from '../redis/redis-env.js';

type Stats = { messages: number; events: number; subscribed: string[] };
type Listened = { ids: string[]; seen: string[][]; before: Stats; after: Stats };

const ALL = ['task_queued', 'task_started', 'task_done'];

const CASES = [
  { mode: 'process', redis: false },
  { mode: 'thread', redis: false },
  // A redis:// child subscribes on its own store: its subscription too lasts as long as a listener.
  { mode: 'process', redis: true },
] as const;

for (const { mode, redis } of CASES) {
  describe(`task events in a ${mode} worker (${redis ? 'redis' : 'local'}://)`, function () {
    this.timeout(120_000);
    let arbiter: Arbiter | undefined;
    let tq: TaskQueue;

    before(async function () {
      if (redis && !(await redisAvailable())) this.skip();
      const taskBackend = redis ? specUrl() : 'local://';
      ({ arbiter, tq } = await startQueue({ name: `child-events-${mode}-${Date.now()}`, workers: 1, concurrency: mode, concurrentTasks: 4, taskBackend }));
    });
    after(async () => {
      await arbiter?.stop();
      if (redis) await dropNamespace();
    });

    const run = async <T>(job: string, kwargs = {}): Promise<T> => {
      const task = await tq.backend.waitForTask((await tq.backend.queueTask(job, kwargs)) as string, 60);
      expect(task?.status, `${job}: ${JSON.stringify(task?.result)}`).to.equal(SUCCESS);
      return task?.result as T;
    };
    const stats = () => run<Stats>('eventstats');
    const queueAndWait = async (n: number) => {
      const ids = (await tq.backend.queueTasks(Array.from({ length: n }, (_, i) => ({ jobName: 'addition', kwargs: { a: i, b: 2 } })))) as string[];
      for (const id of ids) expect((await tq.backend.waitForTask(id, 60))?.status).to.equal(SUCCESS);
    };

    it('sends no event message to a child none of whose jobs listens', async () => {
      await queueAndWait(30);
      expect(await stats()).to.deep.equal({ messages: 0, events: 0, subscribed: [] });
    });

    it('delivers the events a job listens to, in order, then stops once it stops listening', async () => {
      const start = await stats();
      const r = await run<Listened>('listenevents', { count: 10 });
      expect(r.before.subscribed).to.deep.equal(['task_done', 'task_queued', 'task_started']);
      expect(r.seen).to.deep.equal(r.ids.map(() => ALL));
      expect(r.after.subscribed, 'the last listener left: unsubscribed').to.deep.equal([]);
      // Nothing crosses once unsubscribed: 30 more tasks, no event message.
      await queueAndWait(30);
      const end = await stats();
      expect(end.messages, 'no event message after the unsubscribe').to.equal(r.after.messages);
      expect(end.events).to.equal(r.after.events);
      expect(start.messages).to.equal(r.before.messages);
    });

    it(`sends only the events listened to${redis ? '' : ", a bulk queue's events in one message"}`, async () => {
      const r = await run<Listened>('listenevents', { count: 10, events: ['task_queued'] });
      expect(r.seen).to.deep.equal(r.ids.map(() => ['task_queued']));
      if (redis) return; // The store's subscription carries every event; the child filters them.
      expect(r.after.events - r.before.events, 'only the 10 task_queued crossed').to.equal(10);
      expect(r.after.messages - r.before.messages, 'in one message').to.equal(1);
    });

    if (!redis) {
      it('has the LocalStore queue for the child only the events it listens to', async () => {
        const store = (arbiter as unknown as { localStores: Map<string, LocalStoreHandle> }).localStores.get(tq.name) as LocalStoreHandle;
        const key = () => store.subscriptions().find((k) => k.startsWith(`${tq.name}-w`));
        const go = join(tmpdir(), `pulsar-listenuntil-${process.pid}-${Date.now()}`);
        const id = (await tq.backend.queueTask('listenuntil', { go, events: ['task_queued', 'task_done'] })) as string;
        try {
          // Served every event until the store is told what the child listens to (and for ever, if never).
          const narrowed = await eventually(async () => {
            const k = key();
            return k && store.subscriptionEvents(k)?.join() === 'task_done,task_queued' ? k : undefined;
          }, 'the subscription narrowed to what the job listens to', 20_000);
          expect(store.subscriptionEvents(narrowed)).to.deep.equal(['task_done', 'task_queued']);
        } finally {
          writeFileSync(go, '');
        }
        expect((await tq.backend.waitForTask(id, 60))?.status).to.equal(SUCCESS);
        await eventually(async () => (key() === undefined ? true : undefined), 'the subscription dropped once the job stopped listening');
        rmSync(go, { force: true });
      });
    }

    if (mode === 'process' && !redis) {
      it('drops the subscription of a child that dies', async () => {
        const store = (arbiter as unknown as { localStores: Map<string, LocalStoreHandle> }).localStores.get(tq.name) as LocalStoreHandle;
        // The monitor's own client subscribes too (for waitForTask): the workers' keys are their ids.
        const workers = () => store.subscriptions().filter((key) => key.startsWith(`${tq.name}-w`));
        expect(workers()).to.deep.equal([]);
        // Its job listens, then ends the process when told (and again on its redelivery, then it fails).
        const go = join(tmpdir(), `pulsar-listenthencrash-${process.pid}-${Date.now()}`);
        const id = (await tq.backend.queueTask('listenthencrash', { go })) as string;
        await eventually(async () => workers()[0], 'the child to subscribe');
        writeFileSync(go, 'go');
        expect((await tq.backend.waitForTask(id, 60))?.status).to.not.equal(SUCCESS);
        await eventually(async () => !workers().length, 'the dead children\'s subscriptions to end');
        // The worker that replaced them is not subscribed either, and gets nothing.
        await queueAndWait(10);
        expect(workers()).to.deep.equal([]);
        rmSync(go, { force: true });
      });
    }
  });
}
