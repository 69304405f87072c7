/**
 * The backend contract: one suite every TaskStore must pass, driven through TaskBackend as users
 * and workers see it. Each scheme runs it with a harness that opens connections to its store
 * (spec/memory/memory.contract.spec.ts, spec/redis/redis.contract.spec.ts).
 *
 * Producers and workers are separate TaskBackend instances over separate store connections, as
 * separate processes would be. Every test has its own application name, so tests never share tasks.
 */
import { expect } from 'chai';
import { DateTime } from 'luxon';
import { TaskBackend, type BackendOptions } from '../src/producer/backend.js';
import { InvalidTaskArguments, TaskNotAvailable, TaskTimeoutError } from '../src/model/errors.js';
import { Job } from '../src/job/job.js';
import type { JsonObject } from '../src/model/json.js';
import { JobRegistry } from '../src/job/registry.js';
import { FAILURE, QUEUED, RETRY, REVOKED, STARTED, SUCCESS } from '../src/model/states.js';
import { workerLostMessage, type TaskEvent, type TaskStore } from '../src/store/contract.js';
import type { TaskConsumer } from '../src/worker/consumer.js';
import { deliveryContract } from './contract/delivery.contract.js';
import { startWorker } from '../src/worker/worker-runtime.js';

/** Recovers expired leases until `id` is among what was recovered (its short lease must run out). */
async function recoverUntil(store: TaskStore, id: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const result = await store.recover({ maxRedeliveries: 1 });
    if ([...result.requeued, ...result.failed, ...result.returned].includes(id)) return result;
    if (Date.now() > deadline) throw new Error(`the lease of ${id} never expired`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** How the contract reaches one kind of store. */
export interface ContractHarness {
  /** The URL given to TaskBackends. */
  url: string;
  /**
   * Runs once before the suite; resolving false skips it (the harness says why, loudly).
   * Rejecting fails the suite.
   */
  available?(): Promise<boolean>;
  /** A new connection to the store of application `name`; connections of one name share tasks. */
  openStore(name: string): TaskStore | Promise<TaskStore>;
  /** Runs once after the suite. */
  cleanup?(): Promise<void>;
  /**
   * For a store that spreads one queue over shards (redis:// with `shards`), the shard of a task
   * id: priority and FIFO order hold among the tasks of one shard only.
   */
  shardOf?(id: string): number;
}

type Extra = Partial<Omit<BackendOptions, 'name' | 'url' | 'registry'>>;

/** Fails once, then succeeds: `failures` attempts throw (default 1). */
class Flaky extends Job {
  run(consumer: TaskConsumer, { failures = 1 }: JsonObject): string {
    if (consumer.task.retries < Number(failures)) throw new Error(`flaky attempt ${consumer.task.retries}`);
    return `ok after ${consumer.task.retries}`;
  }
}

let apps = 0;

/** Registers the whole backend contract as a mocha suite named after `label`. */
export function backendContract(label: string, harness: ContractHarness): void {
  describe(`backend contract: ${label}`, function () {
    deliveryContract({ registry: () => registry, producer: (extra) => producer(extra), worker: (extra) => worker(extra) });

    let registry: JobRegistry;
    let name = '';
    let opened: TaskBackend[] = [];
    let workers = 0;

    before(async function () {
      if (harness.available && !(await harness.available())) this.skip();
      registry = await JobRegistry.load(['jobs/*']);
      registry.register(Flaky);
    });

    after(async () => {
      await harness.cleanup?.();
    });

    beforeEach(() => {
      apps += 1;
      name = `contract${apps}-${Math.random().toString(36).slice(2, 8)}`;
      opened = [];
    });

    afterEach(async () => {
      // Workers first, so nothing runs while the app is flushed.
      const all = opened.reverse();
      await Promise.all(all.filter((b) => b.runtime).map((b) => b.close(1)));
      const store = await harness.openStore(name);
      await store.flush();
      await store.close();
      await Promise.all(all.map((b) => b.close(1)));
    });

    /** A producer backend (no worker side) of this test's app, or of another app. */
    async function producer(extra: Extra = {}, app = name): Promise<TaskBackend> {
      const backend = new TaskBackend(await harness.openStore(app), { name: app, url: harness.url, registry, ...extra });
      opened.push(backend);
      return backend;
    }

    /** A worker: its own backend and store connection, running tasks inline. */
    async function worker(extra: Extra = {}): Promise<TaskBackend> {
      const backend = await producer({ pollTimeout: 1, ...extra });
      workers += 1;
      startWorker(backend, { id: `${name}-w${workers}`, concurrency: 'inline', pid: process.pid });
      return backend;
    }

    describe('queueing and running', () => {
      it('runs addition 40 + 50 to SUCCESS 90 with its times set', async () => {
        const p = await producer();
        await worker();
        const id = await p.queueTask('addition', { a: 40, b: 50 });
        expect(id).to.be.a('string');
        const task = await p.waitForTask(id as string, 30);
        expect(task?.status).to.equal(SUCCESS);
        expect(task?.result).to.equal(90);
        expect(task?.timeStarted, 'timeStarted').to.not.equal(null);
        expect(task?.timeEnded, 'timeEnded').to.not.equal(null);
        expect(task!.timeStarted!.toMillis()).to.be.at.least(task!.timeQueued.toMillis());
        expect(task!.timeEnded!.toMillis()).to.be.at.least(task!.timeStarted!.toMillis());
        expect(task?.worker).to.be.a('string');
      });

      it('rejects an unknown job with TaskNotAvailable and stores nothing', async () => {
        const p = await producer();
        let error: unknown;
        await p.queueTask('nosuchjob', {}).catch((e: unknown) => (error = e));
        expect(error).to.be.instanceOf(TaskNotAvailable);
        expect(await p.getTasks()).to.deep.equal([]);
        expect(await p.numTasks()).to.equal(0);
      });

      it('rejects kwargs that are not plain JSON (a Date, a function) and stores nothing', async () => {
        const p = await producer();
        for (const kwargs of [{ when: new Date() }, { fn: () => 1 }]) {
          let error: unknown;
          await p.queueTask('echo', kwargs as unknown as JsonObject).catch((e: unknown) => (error = e));
          expect(error).to.be.instanceOf(InvalidTaskArguments);
        }
        // In a batch, one bad item keeps the good ones out too.
        const bad = [{ jobName: 'addition' }, { jobName: 'echo', kwargs: { d: new Date() } as unknown as JsonObject }];
        let error: unknown;
        await p.queueTasks(bad).catch((e: unknown) => (error = e));
        expect(error).to.be.instanceOf(InvalidTaskArguments);
        expect(await p.getTasks()).to.deep.equal([]);
      });

      it('revokes a task whose expiry passed before it started, without timeStarted', async () => {
        const p = await producer();
        const id = (await p.queueTask('addition', { a: 1, b: 2 }, { expiry: 0 })) as string;
        await worker();
        const task = await p.waitForTask(id, 30);
        expect(task?.status).to.equal(REVOKED);
        expect(task?.timeStarted).to.equal(null);
      });

      it('records a failure with its message and stack trace', async () => {
        const p = await producer();
        await worker();
        const id = (await p.queueTask('fail', { message: 'kaputt' })) as string;
        const task = await p.waitForTask(id, 30);
        expect(task?.status).to.equal(FAILURE);
        expect(task?.result).to.equal('kaputt');
        expect(task?.stacktrace).to.be.a('string').and.include('kaputt');
      });

      it('queues many tasks at once, in order', async () => {
        const p = await producer();
        await worker();
        const ids = await p.queueTasks(Array.from({ length: 25 }, (_, i) => ({ jobName: 'addition', kwargs: { a: i, b: 1 } })));
        expect(ids).to.have.length(25);
        expect(new Set(ids).size).to.equal(25);
        const done = await Promise.all(ids.map((id) => p.waitForTask(id as string, 30)));
        expect(done.map((t) => t?.result)).to.deep.equal(Array.from({ length: 25 }, (_, i) => i + 1));
      });

      it('keeps kwargs, meta and results exactly (floats, unicode, nesting)', async () => {
        const p = await producer();
        await worker();
        const message = { x: 0.1 + 0.2, big: 2 ** 53 - 1, tiny: 5e-324, s: 'héllo \u{1F600} "q"', list: [1, [2, { a: null }]] };
        const id = (await p.queueTask('echo', { message }, { metaParams: { who: 'spec', n: 1.0000000000000002 } })) as string;
        const task = await p.waitForTask(id, 30);
        expect(task?.result).to.deep.equal(message);
        expect(task?.kwargs).to.deep.equal({ message });
        expect(task?.meta).to.deep.equal({ who: 'spec', n: 1.0000000000000002 });
      });
    });

    describe('non-overlapping jobs', () => {
      it('queues null while an equal task is not ready, and a new id once it is', async () => {
        const p = await producer();
        const first = (await p.queueTask('notoverlap', { lag: 0.05 })) as string;
        expect(first).to.be.a('string');
        expect(await p.queueTask('notoverlap', { lag: 0.05 })).to.equal(null);
        // Other kwargs are another lock.
        expect(await p.queueTask('notoverlap', { lag: 0.06 })).to.be.a('string');
        await worker();
        expect((await p.waitForTask(first, 30))?.status).to.equal(SUCCESS);
        const again = await p.queueTask('notoverlap', { lag: 0.05 });
        expect(again).to.be.a('string').and.not.equal(first);
      });

      it('gives null to the second of two equal tasks in one batch', async () => {
        const p = await producer();
        const ids = await p.queueTasks([
          { jobName: 'notoverlap', kwargs: { lag: 1 } },
          { jobName: 'notoverlap', kwargs: { lag: 1 } },
        ]);
        expect(ids[0]).to.be.a('string');
        expect(ids[1]).to.equal(null);
      });
    });

    describe('reading', () => {
      it('gives null for an unknown task', async () => {
        const p = await producer();
        expect(await p.getTask('nosuchid')).to.equal(null);
      });

      it('filters tasks by ids, name, status and fromTask', async () => {
        const p = await producer();
        const a = (await p.queueTask('addition', { a: 1 })) as string;
        const b = (await p.queueTask('addition', { a: 2 }, { fromTask: a })) as string;
        const c = (await p.queueTask('echo', { message: 'hi' }, { fromTask: a })) as string;
        expect(await p.revokeTask(c)).to.equal(true);
        const ids = (tasks: { id: string }[]) => tasks.map((t) => t.id).sort();
        expect(ids(await p.getTasks())).to.deep.equal([a, b, c].sort());
        expect(ids(await p.getTasks({ ids: [a, c, 'unknown'] }))).to.deep.equal([a, c].sort());
        expect(ids(await p.getTasks({ name: 'addition' }))).to.deep.equal([a, b].sort());
        expect(ids(await p.getTasks({ status: QUEUED }))).to.deep.equal([a, b].sort());
        expect(ids(await p.getTasks({ status: [REVOKED, SUCCESS] }))).to.deep.equal([c]);
        expect(ids(await p.getTasks({ fromTask: a }))).to.deep.equal([b, c].sort());
        expect(ids(await p.getTasks({ fromTask: a, name: 'echo', status: REVOKED }))).to.deep.equal([c]);
        expect(await p.getTasks({ ids: [] })).to.deep.equal([]);
      });

      it('counts the tasks waiting for a worker, delayed ones included, pulled ones not', async () => {
        const p = await producer();
        expect(await p.numTasks()).to.equal(0);
        await p.queueTasks([{ jobName: 'addition' }, { jobName: 'addition', options: { delay: 60 } }, { jobName: 'echo' }]);
        expect(await p.numTasks()).to.equal(3);
        const pulled = await p.store.pull({ worker: 'ghost', max: 1, leaseMs: 60_000, waitMs: 0 });
        expect(pulled).to.have.length(1);
        expect(await p.numTasks()).to.equal(2);
      });
    });

    describe('revoking', () => {
      it('revokes a queued task, releases its lock and answers its waiters', async () => {
        const p = await producer();
        const id = (await p.queueTask('notoverlap', { lag: 0.01 })) as string;
        const waiting = p.waitForTask(id, 30);
        expect(await p.revokeTask(id)).to.equal(true);
        const task = await waiting;
        expect(task?.status).to.equal(REVOKED);
        expect(task?.timeEnded).to.not.equal(null);
        expect(await p.revokeTask(id)).to.equal(false);
        expect(await p.revokeTask('nosuchid')).to.equal(false);
        expect(await p.numTasks()).to.equal(0);
        expect(await p.queueTask('notoverlap', { lag: 0.01 })).to.be.a('string');
      });

      it('does not revoke a task a worker already pulled', async () => {
        const p = await producer();
        const id = (await p.queueTask('addition')) as string;
        await p.store.pull({ worker: 'ghost', max: 1, leaseMs: 60_000, waitMs: 0 });
        expect(await p.revokeTask(id)).to.equal(false);
        expect((await p.getTask(id))?.status).to.equal(QUEUED);
      });
    });

    describe('waiting', () => {
      it('rejects with TaskTimeoutError when the task is not ready in time', async () => {
        const p = await producer();
        const id = (await p.queueTask('addition')) as string;
        let error: unknown;
        await p.waitForTask(id, 0.2).catch((e: unknown) => (error = e));
        expect(error).to.be.instanceOf(TaskTimeoutError);
      });

      it('gives null for an unknown task', async () => {
        const p = await producer();
        expect(await p.waitForTask('nosuchid', 5)).to.equal(null);
      });

      it('never misses a completion that races the wait', async () => {
        const p = await producer();
        await worker({ concurrentTasks: 4 });
        const waits: Promise<unknown>[] = [];
        for (let i = 0; i < 30; i++) {
          const id = (await p.queueTask('addition', { a: i, b: 0 })) as string;
          // Start waiting at every moment around completion: at once, after a yield, after a read.
          if (i % 3 === 0) waits.push(p.waitForTask(id, 30));
          else if (i % 3 === 1) waits.push(new Promise((r) => setImmediate(r)).then(() => p.waitForTask(id, 30)));
          else waits.push(p.getTask(id).then(() => p.waitForTask(id, 30)));
        }
        const tasks = await Promise.all(waits);
        expect(tasks.every((t) => (t as { status: number } | null)?.status === SUCCESS)).to.equal(true);
      });
    });

    describe('events', () => {
      it('broadcasts task_queued, task_started, task_done in order to another backend instance', async () => {
        const p = await producer();
        const listener = await producer();
        const log = new EventLog(listener, ['task_queued', 'task_started', 'task_done']);
        await listener.ensureSubscribed();
        await worker();
        const id = (await p.queueTask('addition', { a: 1, b: 1 })) as string;
        await log.waitFor((seen) => seen.some(([e, i]) => e === 'task_done' && i === id), 30_000);
        expect(log.eventsOf(id)).to.deep.equal(['task_queued', 'task_started', 'task_done']);
        log.stop();
      });
    });

    describe('ordering and delays', () => {
      it('runs higher priorities first, then the oldest', async () => {
        const p = await producer();
        const log = new EventLog(p, ['task_started', 'task_done']);
        await p.ensureSubscribed();
        const ids = (await p.queueTasks([
          { jobName: 'addition', kwargs: { a: 1 }, options: { priority: 0 } },
          { jobName: 'addition', kwargs: { a: 2 }, options: { priority: 10 } },
          { jobName: 'addition', kwargs: { a: 3 }, options: { priority: 5 } },
          { jobName: 'addition', kwargs: { a: 4 }, options: { priority: 10 } },
          { jobName: 'addition', kwargs: { a: 5 }, options: { priority: -1 } },
          { jobName: 'addition', kwargs: { a: 6 }, options: { priority: 0 } },
        ])) as string[];
        await worker({ concurrentTasks: 1 });
        await log.waitFor((seen) => seen.filter(([e]) => e === 'task_done').length === ids.length, 30_000);
        const started = log.seen.filter(([e]) => e === 'task_started').map(([, id]) => ids.indexOf(id) + 1);
        const order = [2, 4, 3, 1, 6, 5];
        const shardOf = harness.shardOf?.bind(harness);
        if (!shardOf) expect(started).to.deep.equal(order);
        else {
          // Sharded: the same order among the tasks of each shard.
          expect([...started].sort()).to.deep.equal([...order].sort());
          for (const shard of new Set(ids.map((id) => shardOf(id)))) {
            const mine = (n: number) => shardOf(ids[n - 1] as string) === shard;
            expect(started.filter(mine), `the order on shard ${shard}`).to.deep.equal(order.filter(mine));
          }
        }
        log.stop();
      });

      it('does not start a task before its delay or eta', async () => {
        const p = await producer();
        await worker();
        const now = Date.now();
        const [delayed, at, soon] = (await p.queueTasks([
          { jobName: 'addition', options: { delay: 0.6 } },
          { jobName: 'addition', options: { eta: now / 1000 + 0.4 } },
          { jobName: 'addition' },
        ])) as string[];
        const [d, e, s] = await Promise.all([delayed, at, soon].map((id) => p.waitForTask(id as string, 30)));
        expect(s?.status).to.equal(SUCCESS);
        expect(d!.timeStarted!.toMillis() - d!.timeQueued.toMillis()).to.be.at.least(595);
        expect(e!.timeStarted!.toMillis()).to.be.at.least(now + 395);
        expect(e!.timeStarted!.toMillis()).to.be.at.most(d!.timeStarted!.toMillis());
      });
    });

    describe('retries and timeouts', () => {
      it('retries a failing task up to maxRetries, then ends FAILURE with retries counted', async () => {
        const p = await producer();
        const log = new EventLog(p, ['task_queued', 'task_started']);
        await p.ensureSubscribed();
        await worker();
        const id = (await p.queueTask('fail', { message: 'again' }, { maxRetries: 2, retryDelay: 0.05 })) as string;
        const task = await p.waitForTask(id, 30);
        expect(task?.status).to.equal(FAILURE);
        expect(task?.retries).to.equal(2);
        expect(task?.result).to.equal('again');
        await log.waitFor(() => log.eventsOf(id).filter((e) => e === 'task_started').length === 3, 30_000);
        expect(log.eventsOf(id).filter((e) => e === 'task_queued')).to.have.length(3);
      });

      it('passes through RETRY to SUCCESS when a later attempt works', async () => {
        const p = await producer();
        const log = new EventLog(p, ['task_queued']);
        await p.ensureSubscribed();
        const id = (await p.queueTask('flaky', { failures: 1 }, { maxRetries: 3, retryDelay: 0.05 })) as string;
        // A worker that stops pulling after one task leaves the retried task waiting in RETRY.
        await worker({ maxTasks: 1 });
        await log.waitFor(() => log.eventsOf(id).length === 2, 30_000);
        log.stop();
        const retried = await p.getTask(id);
        expect(retried?.status).to.equal(RETRY);
        expect(retried?.retries).to.equal(1);
        expect(retried?.result).to.equal('flaky attempt 0');
        expect(await p.numTasks()).to.equal(1);
        await worker();
        const task = await p.waitForTask(id, 30);
        expect(task?.status).to.equal(SUCCESS);
        expect(task?.result).to.equal('ok after 1');
        expect(task?.retries).to.equal(1);
      });

      it('runs a retried task again after its retry delay', async () => {
        const p = await producer();
        await worker();
        const id = (await p.queueTask('flaky', { failures: 2 }, { maxRetries: 3, retryDelay: 0.05 })) as string;
        const task = await p.waitForTask(id, 30);
        expect(task?.status).to.equal(SUCCESS);
        expect(task?.result).to.equal('ok after 2');
        expect(task?.retries).to.equal(2);
      });

      it('revokes a task that runs past its timeout', async () => {
        const p = await producer();
        await worker();
        const id = (await p.queueTask('asynchronous', { lag: 20 }, { timeout: 0.2 })) as string;
        const task = await p.waitForTask(id, 30);
        expect(task?.status).to.equal(REVOKED);
        expect(String(task?.result)).to.include('timed out');
      });
    });

    describe('lost workers', () => {
      it('requeues a started task whose lease expired once, then fails it as worker lost', async () => {
        const p = await producer();
        const store = p.store;
        const id = (await p.queueTask('notoverlap', { lag: 0.01 })) as string;
        const ghost = { worker: 'ghost', max: 10, leaseMs: 50, waitMs: 0 };
        const run = async () => {
          const [d] = await store.pull(ghost);
          expect(d?.task.id).to.equal(id);
          const fence = { worker: 'ghost', token: d!.token };
          expect(await store.start({ ...d!.task, status: STARTED, worker: 'ghost' }, fence)).to.equal(true);
        };
        await run();
        const waiting = p.waitForTask(id, 60);
        expect(await recoverUntil(store, id)).to.deep.equal({ requeued: [id], failed: [], returned: [] });
        const requeued = await p.getTask(id);
        expect(requeued?.status).to.equal(QUEUED);
        expect(requeued?.retries, 'retries count job failures only').to.equal(0);
        expect(requeued?.redeliveries).to.equal(1);
        expect(await p.numTasks()).to.equal(1);
        // Still not ready: the lock still holds.
        expect(await p.queueTask('notoverlap', { lag: 0.01 })).to.equal(null);

        await run();
        expect(await recoverUntil(store, id)).to.deep.equal({ requeued: [], failed: [id], returned: [] });
        const failed = await waiting;
        expect(failed?.status).to.equal(FAILURE);
        expect(failed?.result).to.equal(workerLostMessage(1));
        expect(failed?.timeEnded).to.not.equal(null);
        expect(await p.numTasks()).to.equal(0);
        expect(await p.queueTask('notoverlap', { lag: 0.01 })).to.be.a('string');
      });

      it("ignores a late finish from the worker that lost the task's lease", async () => {
        const p = await producer();
        const store = p.store;
        const id = (await p.queueTask('addition')) as string;
        const [d] = await store.pull({ worker: 'slow', max: 1, leaseMs: 50, waitMs: 0 });
        await recoverUntil(store, id);
        expect(await store.finish({ ...d!.task, status: SUCCESS, result: 'late' }, { worker: 'slow', token: d!.token })).to.equal(false);
        expect((await p.getTask(id))?.status).to.equal(QUEUED);
      });

      it('recovers every task of a dead worker, and only those', async () => {
        const p = await producer();
        const store = p.store;
        // One at a time: a sharded store keeps no order across its shards.
        const a = (await p.queueTask('addition', { a: 1, b: 2 })) as string;
        const [da] = await store.pull({ worker: 'dead', max: 1, leaseMs: 600_000, waitMs: 0 });
        expect(da?.task.id).to.equal(a);
        expect(await store.start({ ...da!.task, status: STARTED, worker: 'dead' }, { worker: 'dead', token: da!.token })).to.equal(true);
        const b = (await p.queueTask('addition')) as string;
        expect((await store.pull({ worker: 'alive', max: 1, leaseMs: 600_000, waitMs: 0 })).map((d) => d.task.id)).to.deep.equal([b]);
        expect(await store.recover({ maxRedeliveries: 1, worker: 'dead' })).to.deep.equal({ requeued: [a], failed: [], returned: [] });
        await worker();
        const task = await p.waitForTask(a as string, 30);
        expect(task?.status).to.equal(SUCCESS);
        expect(task?.result).to.equal(3);
        expect(task?.redeliveries).to.equal(1);
        expect(task?.retries).to.equal(0);
        expect((await p.getTask(b as string))?.status).to.equal(QUEUED);
        expect(await p.numTasks()).to.equal(0);
      });
    });

    describe('flush', () => {
      it("removes this app's tasks and nothing of another app", async () => {
        const p = await producer();
        const otherName = `${name}-other`;
        const other = await producer({}, otherName);
        try {
          const mine = (await p.queueTask('notoverlap', { lag: 1 })) as string;
          const theirs = (await other.queueTask('notoverlap', { lag: 1 })) as string;
          await p.flush();
          expect(await p.getTask(mine)).to.equal(null);
          expect(await p.numTasks()).to.equal(0);
          expect(await p.getTasks()).to.deep.equal([]);
          expect(await p.queueTask('notoverlap', { lag: 1 }), 'locks are flushed too').to.be.a('string');
          expect((await other.getTask(theirs))?.status).to.equal(QUEUED);
          expect(await other.numTasks()).to.equal(1);
        } finally {
          await other.flush();
        }
      });
    });

    describe('result expiry', () => {
      it('purges ended tasks older than the cut, oldest first and at most limit at a time, and keeps the rest', async function () {
        const p = await producer();
        if (!p.store.purge) this.skip();
        // The store takes an age; the cut is turned into one just before each call.
        const purge = (cutMs: number, limit: number) => p.store.purge!(Math.max(0, Date.now() - cutMs), limit);
        await worker();
        const ok = (await p.queueTask('addition', { a: 1, b: 1 })) as string;
        const failed = (await p.queueTask('fail', { message: 'old' })) as string;
        const revoked = (await p.queueTask('addition', {}, { delay: 60 })) as string;
        const waiting = (await p.queueTask('addition', {}, { delay: 60 })) as string;
        await p.waitForTask(ok, 30);
        await p.waitForTask(failed, 30);
        expect(await p.revokeTask(revoked)).to.equal(true);
        // The next task ends well after the cut, so the age turned into a cut on the store side
        // (a few ms later) still falls between the two.
        const cut = Date.now() + 150;
        while (Date.now() <= cut + 150) await new Promise((r) => setTimeout(r, 20));
        const newer = (await p.waitForTask((await p.queueTask('addition', { a: 2, b: 2 })) as string, 30)) as { id: string; timeEnded: DateTime };
        expect(await purge(cut, 2)).to.equal(2);
        expect(await purge(cut, 100)).to.equal(1);
        expect(await purge(cut, 100)).to.equal(0);
        for (const id of [ok, failed, revoked]) expect(await p.getTask(id), id).to.equal(null);
        expect((await p.getTask(waiting))?.status, 'an unready task is never purged').to.equal(QUEUED);
        expect((await p.getTask(newer.id))?.status, 'a task that ended after the cut').to.equal(SUCCESS);
        expect((await p.getTasks()).map((t) => t.id).sort()).to.deep.equal([waiting, newer.id].sort());
        expect(await p.store.purge!(0, 100)).to.equal(1);
      });
    });

    describe('periodic jobs', () => {
      it('queues a due periodic job once with two schedulers sharing the store', async () => {
        const a = await producer({ schedulePeriodic: true });
        const b = await producer({ schedulePeriodic: true });
        const due = DateTime.now().plus({ seconds: 6 });
        await Promise.all([a.tick(due), b.tick(due)]);
        await Promise.all([a.tick(due), b.tick(due)]);
        expect(await a.getTasks({ name: 'testperiodic' })).to.have.length(1);
        expect(a.nextRun).to.not.equal(null);
      });

      it('neither repeats nor skips a run after a scheduler restarts', async () => {
        const first = await producer({ schedulePeriodic: true });
        const t1 = DateTime.now().plus({ seconds: 6 });
        await first.tick(t1);
        expect(await first.getTasks({ name: 'testperiodic' })).to.have.length(1);
        await first.close(1);

        const restarted = await producer({ schedulePeriodic: true });
        await restarted.tick(t1);
        await restarted.tick(t1.plus({ seconds: 2 }));
        expect(await restarted.getTasks({ name: 'testperiodic' }), 'no repeat').to.have.length(1);
        await restarted.tick(t1.plus({ seconds: 5 }));
        expect(await restarted.getTasks({ name: 'testperiodic' }), 'no skip').to.have.length(2);
      });
    });
  });
}

/** Records the events a backend receives, in order, and waits for conditions on them. */
export class EventLog {
  readonly seen: [TaskEvent, string][] = [];
  private readonly handlers: [TaskEvent, (id: string) => void][] = [];
  private readonly checks = new Set<() => void>();

  constructor(
    private readonly backend: TaskBackend,
    events: readonly TaskEvent[],
  ) {
    for (const event of events) {
      const handler = (id: string) => {
        this.seen.push([event, id]);
        for (const check of [...this.checks]) check();
      };
      this.handlers.push([event, handler]);
      backend.on(event, handler);
    }
  }

  /** The events seen for one task, in order. */
  eventsOf(id: string): TaskEvent[] {
    return this.seen.filter(([, i]) => i === id).map(([e]) => e);
  }

  /** Resolves once `predicate` holds for the events seen; rejects after `timeoutMs`. */
  waitFor(predicate: (seen: [TaskEvent, string][]) => boolean, timeoutMs: number): Promise<void> {
    if (predicate(this.seen)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.checks.delete(check);
        reject(new Error(`events not seen within ${timeoutMs} ms; seen: ${JSON.stringify(this.seen)}`));
      }, timeoutMs);
      const check = () => {
        if (!predicate(this.seen)) return;
        clearTimeout(timer);
        this.checks.delete(check);
        resolve();
      };
      this.checks.add(check);
    });
  }

  /** Stops listening. */
  stop(): void {
    for (const [event, handler] of this.handlers) this.backend.off(event, handler);
  }
}
