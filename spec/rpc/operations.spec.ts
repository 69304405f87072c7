/**
 * `queue_task`'s explicit and flat forms with per-task options, and the operations beyond pulsar:
 * `retry_task`, `purge_tasks`, paginated `get_tasks`.
 */
import { expect } from 'chai';
import { FAILURE, QUEUED, REVOKED, SUCCESS } from '../../src/model/states.js';
import { QUEUE_TASK_RESERVED } from '../../src/rpc/queue-params.js';
import { errorOf, post, resultOf, rpc, startRpc, type RpcHarness } from './support.js';

type Wire = {
  id: string;
  status: number;
  kwargs: Record<string, unknown>;
  meta: Record<string, unknown>;
  priority: number;
  eta: number | null;
  max_retries: number;
  retry_delay: number;
  timeout: number | null;
  expiry: number | null;
};

describe('RpcServer operations', () => {
  let h: RpcHarness;
  const call = async <T>(method: string, params?: unknown): Promise<T> => resultOf<T>(await post(h.url, rpc(method, params)));
  const refused = async (method: string, params: unknown) => errorOf(await post(h.url, rpc(method, params)));

  before(async () => {
    h = await startRpc();
  });
  after(async () => h?.close());

  describe('queue_task', () => {
    it('takes the explicit form: kwargs and options apart, every option applied', async () => {
      const now = Date.now() / 1000;
      const id = await call<string>('queue_task', {
        jobname: 'addition',
        kwargs: { a: 1, priority: 'a kwarg here', jobname: 'also a kwarg' },
        options: { priority: 9, delay: 3600, max_retries: 3, retry_delay: 2, timeout: 40, expiry: 7200, meta_data: { who: 'spec' } },
      });
      const task = await call<Wire>('get_task', { id });
      expect(task.kwargs).to.deep.equal({ a: 1, priority: 'a kwarg here', jobname: 'also a kwarg' });
      expect(task).to.include({ status: QUEUED, priority: 9, max_retries: 3, retry_delay: 2, timeout: 40 });
      expect(task.meta).to.include({ who: 'spec' });
      expect(task.eta).to.be.within(now + 3599, now + 3700);
      expect(task.expiry).to.be.within(now + 7199, now + 7300);
      expect(await call('revoke_task', { id })).to.equal(true);
    });

    it('takes eta as epoch seconds or an ISO time with an offset', async () => {
      // A day ahead, on a whole second.
      const eta = Math.ceil(Date.now() / 1000) + 86_400;
      const iso = new Date((eta + 3600) * 1000).toISOString().replace(/\.\d+Z$/, '+01:00');
      const a = await call<string>('queue_task', { jobname: 'addition', options: { eta } });
      const b = await call<string>('queue_task', { jobname: 'addition', options: { eta: iso } });
      // The store shifts times onto its own clock: within a second of what was asked.
      expect((await call<Wire>('get_task', { id: a })).eta).to.be.closeTo(eta, 1);
      expect((await call<Wire>('get_task', { id: b })).eta).to.be.closeTo(eta, 1);
      await call('revoke_task', { id: a });
      await call('revoke_task', { id: b });
    });

    it('reads reserved names of the flat form as options, never as kwargs', async () => {
      expect(QUEUE_TASK_RESERVED).to.include.members(['jobname', 'kwargs', 'options', 'priority', 'delay', 'eta', 'max_retries', 'retry_delay', 'timeout', 'expiry', 'idempotency_key', 'meta_data']);
      const id = await call<string>('queue_task', { jobname: 'addition', a: 2, b: 3, priority: 4, max_retries: 1 });
      const task = await call<Wire>('wait_for_task', { id, timeout: 30 });
      expect(task.kwargs).to.deep.equal({ a: 2, b: 3 });
      expect(task).to.include({ status: SUCCESS, priority: 4, max_retries: 1 });
    });

    const bad: [string, unknown, RegExp][] = [
      ['"priority": "high" in the flat form', { jobname: 'addition', priority: 'high' }, /"priority" must be a number/],
      ['a negative delay', { jobname: 'addition', options: { delay: -1 } }, /"delay" must be a number of seconds/],
      ['a fractional max_retries', { jobname: 'addition', options: { max_retries: 1.5 } }, /"max_retries" must be an integer/],
      ['an eta without an offset', { jobname: 'addition', options: { eta: '2100-01-01T00:00:00' } }, /"eta" must be epoch seconds or an ISO 8601 time/],
      ['delay and eta together', { jobname: 'addition', options: { delay: 1, eta: 4102444800 } }, /"delay" or "eta", not both/],
      ['an unknown option', { jobname: 'addition', options: { prio: 1 } }, /unknown option "prio"/],
      ['a key beside kwargs', { jobname: 'addition', kwargs: { a: 1 }, b: 2 }, /unexpected "b" beside "kwargs"/],
      ['kwargs that are not an object', { jobname: 'addition', kwargs: [1, 2] }, /"kwargs" must be an object/],
      ['an empty idempotency key', { jobname: 'addition', options: { idempotency_key: '' } }, /"idempotency_key" must be a non-empty string/],
    ];
    for (const [what, params, message] of bad) {
      it(`refuses ${what} with -32602, storing nothing`, async () => {
        const before = await call<number>('num_tasks');
        const error = await refused('queue_task', params);
        expect(error.code).to.equal(-32602);
        expect(error.message).to.match(message);
        expect(await call<number>('num_tasks')).to.equal(before);
      });
    }
  });

  describe('retry_task', () => {
    it('queues a new run of a FAILURE task with the same kwargs and meta.retry_of', async () => {
      const failed = await call<string>('queue_task', { jobname: 'fail', kwargs: { message: 'again' }, options: { priority: 2 } });
      expect((await call<Wire>('wait_for_task', { id: failed, timeout: 30 })).status).to.equal(FAILURE);
      const again = await call<string>('retry_task', { id: failed });
      const task = await call<Wire>('wait_for_task', { id: again, timeout: 30 });
      expect(task.kwargs).to.deep.equal({ message: 'again' });
      expect(task.meta).to.include({ retry_of: failed });
      expect(task.priority).to.equal(2);
    });

    it('retries a REVOKED task, and refuses a waiting one and an unknown id with -32602', async () => {
      const waiting = await call<string>('queue_task', { jobname: 'addition', options: { delay: 3600 } });
      const error = await refused('retry_task', { id: waiting });
      expect(error).to.include({ code: -32602 });
      expect(error.data?.type).to.equal('TaskNotRetryable');
      expect(error.message).to.match(/is QUEUED: only a FAILURE or REVOKED task can be retried/);
      await call('revoke_task', { id: waiting });
      expect((await call<Wire>('get_task', { id: waiting })).status).to.equal(REVOKED);
      const again = await call<string>('retry_task', [waiting]);
      expect((await call<Wire>('wait_for_task', { id: again, timeout: 30 })).status).to.equal(SUCCESS);
      const unknown = await refused('retry_task', { id: 'nosuchtask' });
      expect(unknown.code).to.equal(-32602);
      expect(unknown.data?.type).to.equal('TaskNotFound');
    });
  });

  describe('get_tasks pages and purge_tasks', () => {
    it('pages with limit and cursor, newest first, each task once', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await call<string>('queue_task', { jobname: 'echo', kwargs: { message: `rpc page ${i}` } }));
      for (const id of ids) await call('wait_for_task', { id, timeout: 30 });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { tasks: Wire[]; cursor: string | null } = await call('get_tasks', { name: 'echo', limit: 2, ...(cursor ? { cursor } : {}) });
        expect(page.tasks.length).to.be.at.most(2);
        seen.push(...page.tasks.map((t) => t.id));
        cursor = page.cursor;
      } while (cursor);
      expect(seen).to.include.members(ids);
      expect(new Set(seen).size).to.equal(seen.length);
      expect(seen.indexOf(ids[4] as string)).to.be.below(seen.indexOf(ids[0] as string));
      // Without limit or cursor: pulsar's plain list.
      expect(await call<Wire[]>('get_tasks', { ids })).to.be.an('array').with.length(5);
      for (const limit of [0, 1001, 2.5, 'ten']) {
        expect((await refused('get_tasks', { limit })).message, String(limit)).to.match(/"limit" must be an integer from 1 to 1000/);
      }
    });

    it('purges ended tasks by state and age, and refuses states that have not ended', async () => {
      const bad = await call<string>('queue_task', { jobname: 'fail', kwargs: { message: 'purged over rpc' } });
      await call('wait_for_task', { id: bad, timeout: 30 });
      expect(await call<number>('purge_tasks', { older_than: 3600, status: ['FAILURE'] })).to.equal(0);
      expect(await call<number>('purge_tasks', { status: 'FAILURE' })).to.be.at.least(1);
      expect(await call('get_task', { id: bad })).to.equal(null);
      const error = await refused('purge_tasks', { status: ['QUEUED'] });
      expect(error.code).to.equal(-32602);
      expect(error.message).to.match(/only ended tasks .* can be purged, not QUEUED/);
      expect((await refused('purge_tasks', { older_than: -1 })).code).to.equal(-32602);
    });
  });
});
