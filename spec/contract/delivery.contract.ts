/**
 * The delivery guarantees of store contract v2, run on every store as part of the backend
 * contract (spec/backend.contract.ts calls `deliveryContract`): fencing tokens, hand-back without
 * charge, redeliveries charged only to started tasks, idempotent queueing, paginated listings,
 * periodic runs claimed and queued in one step, the store's own clock.
 */
import { expect } from 'chai';
import { DateTime } from 'luxon';
import { InvalidTaskArguments } from '../../src/model/errors.js';
import { Job } from '../../src/job/job.js';
import type { JsonObject } from '../../src/model/json.js';
import type { JobRegistry } from '../../src/job/registry.js';
import { FAILURE, QUEUED, RETRY, REVOKED, STARTED, SUCCESS } from '../../src/model/states.js';
import type { TaskBackend, BackendOptions } from '../../src/producer/backend.js';
import { EXPIRED_MESSAGE, type Delivery, type TaskStore } from '../../src/store/contract.js';
import type { WireTask } from '../../src/model/task.js';
import type { TaskConsumer } from '../../src/worker/consumer.js';
import type { WorkerRuntime } from '../../src/worker/worker-runtime.js';
import { wireTask } from '../support/wire-task.js';

type Extra = Partial<Omit<BackendOptions, 'name' | 'url' | 'registry'>>;

/** What the delivery contract needs from the backend contract around it. */
export interface DeliveryContext {
  registry(): JobRegistry;
  producer(extra?: Extra): Promise<TaskBackend>;
  worker(extra?: Extra): Promise<TaskBackend>;
}

/** Runs held open by the spec: `gate` jobs wait until the spec opens their gate. */
const gates = new Map<string, { open: () => void; opened: Promise<void>; runs: number }>();

function gate(key: string) {
  let entry = gates.get(key);
  if (!entry) {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    entry = { open, opened, runs: 0 };
    gates.set(key, entry);
  }
  return entry;
}

/** Waits until the spec opens the gate named by `key`; returns which run of the task this was. */
export class Gate extends Job {
  async run(_consumer: TaskConsumer, { key }: JsonObject): Promise<string> {
    const g = gate(String(key));
    g.runs += 1;
    const n = g.runs;
    await g.opened;
    return `run ${n}`;
  }
}

/** Resolves once `check` gives a truthy value (polled on each macrotask turn); rejects after `ms`. */
async function until<T>(check: () => Promise<T> | T, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const pullOne = async (store: TaskStore, worker: string, leaseMs = 600_000): Promise<Delivery> => {
  const [d] = await store.pull({ worker, max: 1, leaseMs, waitMs: 0 });
  expect(d, `a task for ${worker}`).to.not.equal(undefined);
  return d as Delivery;
};

const started = (d: Delivery, worker: string): WireTask => ({ ...d.task, status: STARTED, worker, time_started: Date.now() / 1000 });

/** Expires the lease of a delivery pulled with a short lease, and recovers it. */
async function expireAndRecover(store: TaskStore, id: string) {
  return until(async () => {
    const result = await store.recover({ maxRedeliveries: 5 });
    return [...result.requeued, ...result.returned, ...result.failed].includes(id) ? result : null;
  });
}

/** Registers the v2 delivery specs. */
export function deliveryContract(ctx: DeliveryContext): void {
  describe('fenced deliveries', () => {
    before(() => {
      if (!ctx.registry().has('gate')) ctx.registry().register(Gate);
    });

    it('mints a larger token on each delivery and refuses every write of a stale one', async () => {
      const p = await ctx.producer();
      const store = p.store;
      const id = (await p.queueTask('addition', { a: 1, b: 2 })) as string;
      const first = await pullOne(store, 'w1', 50);
      expect(await store.start(started(first, 'w1'), { worker: 'w1', token: first.token })).to.equal(true);
      await expireAndRecover(store, id);
      const second = await pullOne(store, 'w2');
      expect(second.task.id).to.equal(id);
      expect(second.token).to.be.greaterThan(first.token);
      const stale = { worker: 'w1', token: first.token };
      expect(await store.start(started(first, 'w1'), stale), 'stale start').to.equal(false);
      expect(await store.progress(id, 50, stale), 'stale progress').to.equal(false);
      expect(await store.retry({ ...first.task, status: 4 }, stale), 'stale retry').to.equal(false);
      expect(await store.renew('w1', [{ id, token: first.token }], 60_000), 'stale renew').to.deep.equal([id]);
      expect(await store.finish({ ...first.task, status: SUCCESS, result: 'stale', time_ended: Date.now() / 1000 }, stale)).to.equal(false);
      // The same worker id with the old token is fenced off as well: ownership is the token.
      expect(await store.finish({ ...first.task, status: SUCCESS, result: 'stale', time_ended: Date.now() / 1000 }, { worker: 'w2', token: first.token })).to.equal(false);
      const live = { worker: 'w2', token: second.token };
      expect(await store.renew('w2', [{ id, token: second.token }], 60_000)).to.deep.equal([]);
      expect(await store.progress(id, 75, live)).to.equal(true);
      expect(await store.finish({ ...second.task, status: SUCCESS, result: 'live', time_ended: Date.now() / 1000 }, live)).to.equal(true);
      const task = await p.getTask(id);
      expect(task?.result).to.equal('live');
      expect(task?.status).to.equal(SUCCESS);
      // A finished delivery is over: writing again with its token changes nothing.
      expect(await store.finish({ ...second.task, status: FAILURE, result: 'again', time_ended: Date.now() / 1000 }, live)).to.equal(false);
      expect((await p.getTask(id))?.result).to.equal('live');
    });

    it('saves a start sent again (its reply lost) once, and broadcasts task_started once', async () => {
      const p = await ctx.producer();
      const seen: string[] = [];
      const onStarted = (taskId: string) => seen.push(`started ${taskId}`);
      const onDone = (taskId: string) => seen.push(`done ${taskId}`);
      p.on('task_started', onStarted);
      p.on('task_done', onDone);
      try {
        await p.ensureSubscribed();
        const id = (await p.queueTask('addition', { a: 1, b: 2 })) as string;
        const d = await pullOne(p.store, 'w1');
        const fence = { worker: 'w1', token: d.token };
        const task = started(d, 'w1');
        expect(await p.store.start(task, fence)).to.equal(true);
        expect(await p.store.start(task, fence), 'the same start again').to.equal(true);
        expect(await p.store.finish({ ...task, status: SUCCESS, result: 3, time_ended: Date.now() / 1000 }, fence)).to.equal(true);
        // Broadcasts of one task arrive in order: once task_done is seen, every task_started is.
        await until(() => seen.includes(`done ${id}`));
        expect(seen.filter((e) => e.endsWith(` ${id}`))).to.deep.equal([`started ${id}`, `done ${id}`]);
      } finally {
        p.off('task_started', onStarted);
        p.off('task_done', onDone);
      }
    });

    it('answers a retry sent again after its task was delivered anew as saved, and queues the task once', async () => {
      const p = await ctx.producer();
      const store = p.store;
      const id = (await p.queueTask('addition', { a: 1, b: 2 }, { maxRetries: 3, retryDelay: 0 })) as string;
      const first = await pullOne(store, 'w1');
      const fence1 = { worker: 'w1', token: first.token };
      expect(await store.start(started(first, 'w1'), fence1)).to.equal(true);
      const retried: WireTask = { ...started(first, 'w1'), status: RETRY, retries: 1, result: 'try again', time_ended: Date.now() / 1000 };
      expect(await store.retry(retried, fence1)).to.equal(true);
      // Its reply was lost: before the retry is sent again, the task is delivered anew and starts.
      const second = await pullOne(store, 'w2');
      expect(second.task.id).to.equal(id);
      const fence2 = { worker: 'w2', token: second.token };
      expect(await store.start(started(second, 'w2'), fence2)).to.equal(true);
      expect(await store.retry(retried, fence1), 'the same retry again, while the new delivery runs').to.equal(true);
      expect(await store.pull({ worker: 'w3', max: 5, leaseMs: 60_000, waitMs: 0 }), 'queued once').to.deep.equal([]);
      expect((await p.getTask(id))?.status, 'the new delivery keeps it').to.equal(STARTED);
      expect(await store.renew('w2', [{ id, token: second.token }], 60_000)).to.deep.equal([]);
      expect(await store.finish({ ...started(second, 'w2'), status: SUCCESS, result: 3, time_ended: Date.now() / 1000 }, fence2)).to.equal(true);
      expect(await store.retry(retried, fence1), 'and again once the new delivery finished').to.equal(true);
      const task = await p.getTask(id);
      expect([task?.status, task?.result, task?.retries]).to.deep.equal([SUCCESS, 3, 1]);
      // A write of that first delivery that was never saved is still fenced off.
      expect(await store.finish({ ...started(first, 'w1'), status: FAILURE, result: 'late', time_ended: Date.now() / 1000 }, fence1)).to.equal(false);
    });

    it('keeps one run when a task is delivered again to the worker that still runs it', async () => {
      const p = await ctx.producer();
      const w = await ctx.worker();
      const key = `same-${Math.random()}`;
      const id = (await p.queueTask('gate', { key })) as string;
      await until(() => gate(key).runs === 1);
      await until(async () => (await p.getTask(id))?.status === STARTED);
      // The worker is thought dead while its job runs: its task is queued again, and the same
      // worker (free slots, a pull parked) takes it back.
      const recovered = await p.store.recover({ maxRedeliveries: 5, worker: w.runtime!.worker.id });
      expect(recovered.requeued).to.deep.equal([id]);
      // Back to STARTED: the worker took the new delivery and its running job adopted it.
      await until(async () => (await p.getTask(id))?.status === STARTED);
      gate(key).open();
      const task = await p.waitForTask(id, 30);
      expect(task?.status).to.equal(SUCCESS);
      expect(task?.result).to.equal('run 1');
      expect(gate(key).runs, 'the job ran once').to.equal(1);
    });

    it('does not report a handed-back run as lost, and keeps the result of the worker that took the task over', async () => {
      const p = await ctx.producer();
      const w1 = await ctx.worker({ leaseTimeout: 600 });
      const key = `other-${Math.random()}`;
      const id = (await p.queueTask('gate', { key })) as string;
      await until(() => gate(key).runs === 1);
      const lost: string[] = [];
      (w1.runtime as WorkerRuntime).on('task_lost', (taskId: string) => lost.push(taskId));
      await w1.runtime!.stop(0).catch(() => undefined);
      // stop() handed it back; pretend instead that w1 only looked dead: take it over by hand.
      const again = await pullOne(p.store, 'w2');
      expect(again.task.id).to.equal(id);
      gate(key).open();
      const live = { worker: 'w2', token: again.token };
      expect(await p.store.start(started(again, 'w2'), live)).to.equal(true);
      expect(await p.store.finish({ ...again.task, status: SUCCESS, result: 'w2 result', time_ended: Date.now() / 1000 }, live)).to.equal(true);
      const task = await p.waitForTask(id, 30);
      expect(task?.result).to.equal('w2 result');
      expect(lost, 'a handed-back run is not reported lost').to.deep.equal([]);
    });

    it('runs a retry that comes straight back to the same worker (no delay) again, every attempt', async () => {
      const p = await ctx.producer();
      await ctx.worker({ concurrentTasks: 1 });
      const ids = (await p.queueTasks(Array.from({ length: 5 }, () => ({ jobName: 'flaky', kwargs: { failures: 3 }, options: { maxRetries: 3, retryDelay: 0 } })))) as string[];
      const tasks = await Promise.all(ids.map((id) => p.waitForTask(id, 60)));
      expect(tasks.map((t) => t?.status)).to.deep.equal(Array(5).fill(SUCCESS));
      expect(tasks.map((t) => t?.result)).to.deep.equal(Array(5).fill('ok after 3'));
    });

    it('reports task_lost and saves nothing when a running task was recovered and delivered elsewhere', async () => {
      const p = await ctx.producer();
      const w1 = await ctx.worker({ leaseTimeout: 600 });
      const key = `elsewhere-${Math.random()}`;
      const id = (await p.queueTask('gate', { key })) as string;
      await until(async () => (await p.getTask(id))?.status === STARTED);
      const lost: string[] = [];
      (w1.runtime as WorkerRuntime).on('task_lost', (taskId: string) => lost.push(taskId));
      // Recovery as if w1 were dead, then another worker takes the delivery before w1 can.
      await p.store.interrupt?.(w1.runtime!.worker.id);
      const w1Id = w1.runtime!.worker.id;
      let taken: Delivery | undefined;
      await until(async () => {
        await p.store.recover({ maxRedeliveries: 5, worker: w1Id });
        [taken] = await p.store.pull({ worker: 'w2', max: 1, leaseMs: 600_000, waitMs: 0 });
        return taken ?? (await p.getTask(id))?.worker === 'w2';
      });
      expect(taken?.task.id).to.equal(id);
      gate(key).open();
      await until(() => lost.includes(id));
      expect(w1.runtime!.lost).to.be.at.least(1);
      expect((await p.getTask(id))?.status, "the first run's SUCCESS was not saved").to.not.equal(SUCCESS);
      const live = { worker: 'w2', token: taken!.token };
      expect(await p.store.finish({ ...taken!.task, status: SUCCESS, result: 'second', time_ended: Date.now() / 1000 }, live)).to.equal(true);
      expect((await p.getTask(id))?.result).to.equal('second');
    });
  });

  describe('hand-back and recovery charges', () => {
    it('hands a stopping worker\'s tasks back with nothing counted', async () => {
      const p = await ctx.producer();
      const [a, b] = (await p.queueTasks([{ jobName: 'addition' }, { jobName: 'addition' }])) as string[];
      const da = await pullOne(p.store, 'stopping');
      await pullOne(p.store, 'stopping');
      expect(await p.store.start(started(da, 'stopping'), { worker: 'stopping', token: da.token })).to.equal(true);
      expect((await p.store.release('stopping')).sort()).to.deep.equal([a, b].sort());
      for (const id of [a, b]) {
        const task = await p.getTask(id as string);
        expect(task?.status, id).to.equal(QUEUED);
        expect(task?.redeliveries, id).to.equal(0);
        expect(task?.retries, id).to.equal(0);
      }
      expect(await p.numTasks()).to.equal(2);
      expect(await p.store.finish({ ...da.task, status: SUCCESS, result: 1, time_ended: Date.now() / 1000 }, { worker: 'stopping', token: da.token })).to.equal(false);
      expect(await p.store.release('stopping')).to.deep.equal([]);
    });

    it('charges a redelivery only to the started tasks of a dead worker, never a retry', async () => {
      const p = await ctx.producer();
      const [a, b] = (await p.queueTasks([{ jobName: 'addition' }, { jobName: 'addition' }])) as string[];
      const da = await pullOne(p.store, 'dead');
      const db = await pullOne(p.store, 'dead');
      const ran = da.task.id === a ? da : db;
      const never = ran === da ? db : da;
      expect(await p.store.start(started(ran, 'dead'), { worker: 'dead', token: ran.token })).to.equal(true);
      const result = await p.store.recover({ maxRedeliveries: 1, worker: 'dead' });
      expect(result).to.deep.equal({ requeued: [ran.task.id], failed: [], returned: [never.task.id] });
      const charged = await p.getTask(ran.task.id);
      expect(charged?.redeliveries).to.equal(1);
      expect(charged?.retries).to.equal(0);
      expect(charged?.status).to.equal(QUEUED);
      const free = await p.getTask(never.task.id);
      expect(free?.redeliveries).to.equal(0);
      expect(free?.status).to.equal(QUEUED);
      expect(await p.numTasks()).to.equal(2);
      void b;
    });
  });

  describe('idempotent queueing', () => {
    it('gives the first id to a resent queue with the same key, and stores one task', async () => {
      const p = await ctx.producer();
      const first = await p.queueTask('addition', { a: 1, b: 1 }, { idempotencyKey: 'order-42' });
      const again = await p.queueTask('addition', { a: 1, b: 1 }, { idempotencyKey: 'order-42' });
      expect(again).to.equal(first);
      const other = await p.queueTask('addition', { a: 1, b: 1 }, { idempotencyKey: 'order-43' });
      expect(other).to.not.equal(first);
      const batch = await p.queueTasks([
        { jobName: 'addition', options: { idempotencyKey: 'b-1' } },
        { jobName: 'addition', options: { idempotencyKey: 'b-1' } },
        { jobName: 'addition', options: { idempotencyKey: 'order-42' } },
      ]);
      expect(batch[1]).to.equal(batch[0]);
      expect(batch[2]).to.equal(first);
      expect(await p.getTasks()).to.have.length(3);
    });

    it('refuses an idempotency key that is not a non-empty string', async () => {
      const p = await ctx.producer();
      for (const key of ['', 42, 'x'.repeat(201)]) {
        let error: unknown;
        await p.queueTask('addition', {}, { idempotencyKey: key as string }).catch((e: unknown) => (error = e));
        expect(error, String(key)).to.be.instanceOf(InvalidTaskArguments);
      }
      expect(await p.getTasks()).to.deep.equal([]);
    });
  });

  describe('paginated listings', () => {
    it('pages through every task once, newest queued first, and filters pages by name and status', async () => {
      const p = await ctx.producer();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(...((await p.queueTasks(Array.from({ length: 5 }, (_, k) => ({ jobName: k % 2 ? 'echo' : 'addition', kwargs: { i, k } })))) as string[]));
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await p.listTasks({ limit: 10, cursor });
        expect(page.tasks.length).to.be.at.most(10);
        seen.push(...page.tasks.map((t) => t.id));
        cursor = page.cursor;
        pages += 1;
        expect(pages).to.be.below(50);
      } while (cursor !== null);
      expect([...seen].sort()).to.deep.equal([...ids].sort());
      expect(new Set(seen).size).to.equal(25);
      const queued = await p.getTasks();
      for (let i = 1; i < queued.length; i++) {
        expect(queued[i - 1]!.timeQueued.toMillis(), 'newest first').to.be.at.least(queued[i]!.timeQueued.toMillis());
      }
      const echoes: string[] = [];
      cursor = null;
      do {
        const page = await p.listTasks({ name: 'echo', status: QUEUED, limit: 3, cursor });
        echoes.push(...page.tasks.map((t) => { expect(t.name).to.equal('echo'); return t.id; }));
        cursor = page.cursor;
      } while (cursor !== null);
      expect(echoes).to.have.length(10);
      expect((await p.listTasks({ status: SUCCESS, limit: 5 })).tasks).to.deep.equal([]);
    });

    it('searches text in ids, job names and kwargs, and a queue-time range, across pages of any size', async () => {
      const p = await ctx.producer();
      const old = (await p.queueTasks(Array.from({ length: 6 }, (_, i) => ({ jobName: 'echo', kwargs: { message: `needle-${i}` } })))) as string[];
      // The latest of the batch: a sharded store stamps each shard's part of a batch on its own.
      const olds = await Promise.all(old.map((id) => p.getTask(id)));
      const cut = Math.max(...olds.map((t) => t!.timeQueued.toSeconds())) + 0.001;
      // The next tasks are queued in later milliseconds than the cut.
      while (Date.now() / 1000 <= cut + 0.01) await new Promise((r) => setTimeout(r, 5));
      const newer = (await p.queueTasks([
        ...Array.from({ length: 7 }, () => ({ jobName: 'addition', kwargs: { a: 1 } })),
        ...Array.from({ length: 3 }, (_, i) => ({ jobName: 'echo', kwargs: { message: `NEEDLE-new-${i}` } })),
      ])) as string[];
      const all = async (request: Parameters<typeof p.listTasks>[0]) => {
        const ids: string[] = [];
        let cursor: string | null = null;
        do {
          const page = await p.listTasks({ ...request, limit: 2, cursor });
          expect(page.tasks.length).to.be.at.most(2);
          ids.push(...page.tasks.map((t) => t.id));
          cursor = page.cursor;
        } while (cursor !== null);
        return ids.sort();
      };
      expect(await all({ text: 'needle' }), 'text in kwargs, any case').to.deep.equal([...old, ...newer.slice(7)].sort());
      expect(await all({ text: 'needle-new' })).to.deep.equal(newer.slice(7).sort());
      expect(await all({ text: old[2]!.slice(4, 20) }), 'text in the id').to.deep.equal([old[2]]);
      expect(await all({ text: 'ADDITION' }), 'text in the job name').to.deep.equal(newer.slice(0, 7).sort());
      expect(await all({ queuedAfter: cut }), 'queued after').to.deep.equal([...newer].sort());
      expect(await all({ queuedBefore: cut, name: 'echo' }), 'queued before').to.deep.equal([...old].sort());
      expect(await all({ text: 'needle', queuedAfter: cut, status: QUEUED })).to.deep.equal(newer.slice(7).sort());
      for (const bad of [{ text: 'x'.repeat(201) }, { queuedAfter: -1 }, { queuedBefore: Number.NaN }]) {
        let error: unknown;
        await p.listTasks(bad).catch((e: unknown) => (error = e));
        expect(error, JSON.stringify(bad)).to.be.instanceOf(InvalidTaskArguments);
      }
    });

    it('refuses a limit outside 1..1000 and a cursor that is not a string', async () => {
      const p = await ctx.producer();
      for (const request of [{ limit: 0 }, { limit: 1001 }, { limit: 2.5 }, { cursor: 7 as unknown as string }]) {
        let error: unknown;
        await p.listTasks(request).catch((e: unknown) => (error = e));
        expect(error, JSON.stringify(request)).to.be.instanceOf(InvalidTaskArguments);
      }
    });
  });

  describe("the store's clock", () => {
    it('answers now() on its own clock and stamps time_queued with it', async () => {
      const p = await ctx.producer();
      const before = await p.store.now();
      expect(Math.abs(before - Date.now()), 'this machine shares one clock').to.be.below(5000);
      // A producer whose clock is an hour behind: the stored times follow the store's clock.
      const task = (await p.queueTask('addition', {}, { delay: 60 })) as string;
      const [wire] = await p.store.get([task]);
      expect(wire!.time_queued * 1000).to.be.within(before - 1000, before + 5000);
      expect((wire!.eta as number) - wire!.time_queued).to.be.closeTo(60, 0.01);
      const skewed = DateTime.now().minus({ hours: 1 });
      const built = { ...wire!, id: `${wire!.id}-skewed`, time_queued: skewed.toSeconds(), eta: skewed.toSeconds() + 60, lock_id: null };
      const [skewedId] = await p.store.queue([built]);
      const [stored] = await p.store.get([skewedId as string]);
      expect(stored!.time_queued * 1000).to.be.within(before - 1000, before + 5000);
      expect((stored!.eta as number) - stored!.time_queued).to.be.closeTo(60, 0.01);
      expect(await p.store.pull({ worker: 'early', max: 5, leaseMs: 1000, waitMs: 0 }), 'nothing is due yet').to.deep.equal([]);
    });

    it('revokes at pickup a task whose expiry passed, without handing it out', async () => {
      const p = await ctx.producer();
      const id = (await p.queueTask('notoverlap', { lag: 0 }, { expiry: 0 })) as string;
      const waiting = p.waitForTask(id, 30);
      await until(async () => {
        expect(await p.store.pull({ worker: 'late', max: 5, leaseMs: 1000, waitMs: 0 })).to.deep.equal([]);
        return (await p.getTask(id))?.status === REVOKED;
      });
      const task = await waiting;
      expect(task?.result).to.equal(EXPIRED_MESSAGE);
      expect(task?.timeStarted).to.equal(null);
      expect(await p.queueTask('notoverlap', { lag: 0 }), 'its lock is released').to.be.a('string');
    });

    it('queues a retry after its delay on the store clock', async () => {
      const p = await ctx.producer();
      const id = (await p.queueTask('fail', { message: 'again' }, { maxRetries: 1, retryDelay: 60 })) as string;
      const d = await pullOne(p.store, 'r');
      const fence = { worker: 'r', token: d.token };
      expect(await p.store.start(started(d, 'r'), fence)).to.equal(true);
      const at = await p.store.now();
      expect(await p.store.retry({ ...started(d, 'r'), status: 4, retries: 1, eta: null }, fence)).to.equal(true);
      const [wire] = await p.store.get([id]);
      expect(wire!.status).to.equal(4);
      expect((wire!.eta as number) * 1000).to.be.within(at + 59_000, at + 65_000);
      expect(await p.store.pull({ worker: 'r', max: 5, leaseMs: 1000, waitMs: 0 })).to.deep.equal([]);
      expect(await p.numTasks()).to.equal(1);
    });
  });

  describe('periodic claims', () => {
    it('claims a run and queues its task in one step, once', async () => {
      const p = await ctx.producer();
      const now = await p.store.now();
      const build = () => ({ ...taskWire(p), id: `claim-${Math.random().toString(36).slice(2)}` });
      const first = build();
      expect(await p.store.claimRun('testperiodic', null, now, first)).to.equal(first.id);
      const second = build();
      expect(await p.store.claimRun('testperiodic', null, now + 1, second), 'the run was claimed already').to.equal(false);
      expect(await p.getTask(second.id)).to.equal(null);
      expect((await p.getTask(first.id))?.status).to.equal(QUEUED);
      expect(await p.store.lastRuns()).to.deep.equal({ testperiodic: now });
      const third = build();
      expect(await p.store.claimRun('testperiodic', now, now + 5000, third)).to.equal(third.id);
      expect(await p.numTasks()).to.equal(2);
    });
  });

  describe('purge by status', () => {
    it('purges only the given ready states', async function () {
      const p = await ctx.producer();
      if (!p.store.purge) this.skip();
      await ctx.worker();
      const ok = (await p.queueTask('addition', { a: 1, b: 1 })) as string;
      const failed = (await p.queueTask('fail', { message: 'old' })) as string;
      await p.waitForTask(ok, 30);
      await p.waitForTask(failed, 30);
      // "Ended more than 0 ms ago" on the store's clock: it stamps the end when it saves the finish,
      // which may be some ms after the worker's time_ended, and before the waits above resolved. A
      // warm process can get here within that millisecond.
      const ended = await p.store.now();
      while ((await p.store.now()) <= ended) await new Promise((r) => setImmediate(r));
      const purge = p.store.purge!.bind(p.store);
      expect(await purge(0, 100, [FAILURE])).to.equal(1);
      expect(await p.getTask(failed)).to.equal(null);
      expect((await p.getTask(ok))?.status).to.equal(SUCCESS);
      expect(await purge(60_000, 100, [SUCCESS]), 'younger than the age').to.equal(0);
      expect(await purge(0, 100)).to.equal(1);
    });
  });
}

/** A QUEUED wire task of the periodic sample job, as a scheduler builds it. */
function taskWire(p: TaskBackend): WireTask {
  void p;
  return wireTask({ name: 'testperiodic' });
}
