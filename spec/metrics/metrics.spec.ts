/**
 * `GET /metrics` of an arbiter's RpcServer after a mixed run (successes, failures, retries,
 * revoked tasks), parsed with a Prometheus text parser and compared with what the
 * store holds, on local:// and redis://.
 */
import { expect } from 'chai';
import { Arbiter } from '../../actors/arbiter.js';
import { TaskQueue } from '../../src/app/taskqueue.js';
import { FAILURE, REVOKED, SUCCESS } from '../../src/model/states.js';
import type { Task } from '../../src/model/task.js';
import { RpcClient, RpcError } from '../../src/rpc/client.js';
import { RpcServer } from '../../src/rpc/server.js';
import { metricsHub } from '../../src/metrics/hub.js';
import { dropNamespace, redisAvailable, specUrl } from '../redis/redis-env.js';
import { scrape, type Scrape } from './scrape.js';

const TOKEN = 'metrics-token';

/** The observation count of a labelled histogram, from prom-client's registry of this process. */
async function histogramCount(name: string, labels: Record<string, string>): Promise<number> {
  const metric = metricsHub().metrics.registry.getSingleMetric(name);
  const values = (await metric?.get())?.values ?? [];
  const sample = values.find((v) => (v as { metricName?: string }).metricName === `${name}_count` && Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return sample?.value ?? 0;
}

/** Retries `check` on fresh scrapes until it passes (events reach the counters asynchronously). */
async function eventually(url: string, check: (s: Scrape) => void, timeoutMs = 30_000): Promise<Scrape> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await scrape(url, TOKEN);
    try {
      check(s);
      return s;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

for (const backend of ['local', 'redis'] as const) {
  describe(`GET /metrics on ${backend}://`, function () {
    const queue = `metrics-${backend}-${Math.random().toString(36).slice(2, 8)}`;
    let arbiter: Arbiter;
    let rpc: RpcServer;
    let client: RpcClient;

    before(async function () {
      if (backend === 'redis' && !(await redisAvailable())) this.skip();
      arbiter = new Arbiter({ handleSignals: false });
      const taskBackend = backend === 'redis' ? specUrl() : 'local://';
      arbiter.add(new TaskQueue({ name: queue, taskPaths: ['jobs/*'], workers: 1, concurrency: 'inline', taskBackend }));
      rpc = arbiter.add(new RpcServer({ bind: '127.0.0.1:0', taskqueue: queue, token: TOKEN }));
      await arbiter.start();
      client = new RpcClient(rpc.url, { token: TOKEN });
    });
    after(async () => {
      await arbiter?.stop();
      if (backend === 'redis') await dropNamespace();
    });

    it('refuses /metrics without the token', async () => {
      const res = await fetch(`${rpc.url}/metrics`);
      await res.body?.cancel();
      expect(res.status).to.equal(401);
    });

    it('counts what the store holds after a mixed run', async function () {
      this.timeout(180_000);
      const before = await scrape(rpc.url, TOKEN);
      const rpcOk = () => before.value('pulsar_rpc_requests_total', { method: 'queue_task', code: '0' });
      const ids: string[] = [];
      const queue_ = async (job: string, kwargs: Record<string, number | string>, options = {}) => {
        ids.push((await client.queueTask(job, kwargs, options)) as string);
      };
      for (let i = 0; i < 6; i++) await queue_('addition', { a: i, b: 1 });
      for (let i = 0; i < 3; i++) await queue_('fail', { message: `plain ${i}` });
      for (let i = 0; i < 2; i++) await queue_('fail', { message: `retried ${i}` }, { maxRetries: 1, retryDelay: 0 });
      const delayed = [await client.queueTask('addition', { a: 200 }, { delay: 3600 }), await client.queueTask('echo', { message: 'later' }, { delay: 3600 })];
      for (const id of delayed) expect(await client.revokeTask(id as string)).to.equal(true);
      ids.push(...(delayed as string[]));
      await client.queueTask('nosuchjob').catch((err: unknown) => expect(err).to.be.instanceOf(RpcError));
      const tasks = (await Promise.all(ids.map((id) => client.waitForTask(id, 60)))) as Task[];
      const byJob = new Map<string, Task[]>();
      for (const t of tasks) byJob.set(t.name, [...(byJob.get(t.name) ?? []), t]);
      expect(tasks.filter((t) => t.status === SUCCESS)).to.have.length(6);
      expect(tasks.filter((t) => t.status === FAILURE)).to.have.length(5);
      expect(tasks.filter((t) => t.status === REVOKED)).to.have.length(2);

      const s = await eventually(rpc.url, (m) => {
        for (const [job, list] of byJob) {
          const labels = { queue, job };
          const count = (status: number) => list.filter((t) => t.status === status).length;
          const started = list.filter((t) => t.timeStarted).reduce((n, t) => n + 1 + t.retries, 0);
          expect(m.value('pulsar_tasks_queued_total', labels), `${job} queued`).to.equal(list.length);
          expect(m.value('pulsar_tasks_succeeded_total', labels), `${job} succeeded`).to.equal(count(SUCCESS));
          expect(m.value('pulsar_tasks_failed_total', labels), `${job} failed`).to.equal(count(FAILURE));
          expect(m.value('pulsar_tasks_revoked_total', labels), `${job} revoked`).to.equal(count(REVOKED));
          expect(m.value('pulsar_tasks_started_total', labels), `${job} started`).to.equal(started);
          expect(m.value('pulsar_tasks_retried_total', labels), `${job} retried`).to.equal(list.reduce((n, t) => n + t.retries - t.redeliveries, 0));
          expect(m.value('pulsar_tasks_redelivered_total', labels), `${job} redelivered`).to.equal(0);
          expect(m.value('pulsar_tasks_lost_total', labels), `${job} lost`).to.equal(0);
        }
      });
      // The text parser flattens labelled histograms: their counts are read from prom-client's registry.
      for (const [job, list] of byJob) {
        const started = list.filter((t) => t.timeStarted).reduce((n, t) => n + 1 + t.retries, 0);
        const ran = list.filter((t) => t.status === SUCCESS || t.status === FAILURE).length;
        expect(await histogramCount('pulsar_task_run_seconds', { queue, job }), `${job} runs`).to.equal(ran);
        expect(await histogramCount('pulsar_task_wait_seconds', { queue, job }), `${job} waits`).to.equal(started);
      }
      for (const name of ['pulsar_task_run_seconds', 'pulsar_task_wait_seconds']) expect(s.family(name)?.type).to.equal('HISTOGRAM');
      expect(s.value('pulsar_tasks_retried_total', { queue, job: 'fail' })).to.equal(2);
      expect(s.value('pulsar_queue_depth', { queue })).to.equal(await client.numTasks());
      expect(s.value('pulsar_workers_alive', { queue })).to.equal(1);
      expect(s.value('pulsar_tasks_in_flight', { queue })).to.equal(0);
      expect(s.value('pulsar_queue_oldest_waiting_seconds', { queue })).to.equal(0);
      expect(s.value('pulsar_rpc_requests_total', { method: 'queue_task', code: '0' }) - rpcOk()).to.equal(ids.length);
      expect(s.value('pulsar_rpc_requests_total', { method: 'queue_task', code: '-32603' })).to.be.at.least(1);
      for (const name of ['pulsar_worker_restarts_total', 'pulsar_redis_errors_total', 'pulsar_redis_outage_seconds_total', 'pulsar_process_cpu_user_seconds_total']) {
        expect(s.family(name), name).to.not.equal(undefined);
      }
    });

    it('shows a waiting task in the depth and oldest-waiting gauges', async () => {
      // One inline worker with 5 slots: fill them so that the next task waits.
      const fillers = await Promise.all([0, 1, 2, 3, 4].map((i) => client.queueTask('asynchronous', { lag: 4 + i / 100 })));
      const queued = (await client.queueTask('addition', { a: 1 })) as string;
      const s = await eventually(rpc.url, (m) => {
        expect(m.value('pulsar_queue_depth', { queue })).to.be.at.least(1);
        expect(m.value('pulsar_tasks_in_flight', { queue })).to.equal(5);
        expect(m.value('pulsar_queue_oldest_waiting_seconds', { queue })).to.be.greaterThan(0);
      });
      expect(s.value('pulsar_queue_oldest_waiting_seconds', { queue })).to.be.below(60);
      for (const id of [queued, ...(fillers as string[])]) await client.waitForTask(id, 60);
    });
  });

  describe(`GET /metrics on ${backend}:// when workers die`, function () {
    this.timeout(120_000);
    const queue = `metrics-lost-${backend}-${Math.random().toString(36).slice(2, 8)}`;
    let arbiter: Arbiter;
    let client: RpcClient;
    let url: string;

    before(async function () {
      if (backend === 'redis' && !(await redisAvailable())) this.skip();
      arbiter = new Arbiter({ handleSignals: false });
      const taskBackend = backend === 'redis' ? specUrl() : 'local://';
      arbiter.add(new TaskQueue({ name: queue, taskPaths: ['jobs/*', 'spec/fixtures/runtime/*'], workers: 1, concurrency: 'thread', taskBackend, maxRedeliveries: 1 }));
      const rpc = arbiter.add(new RpcServer({ bind: '127.0.0.1:0', taskqueue: queue, token: TOKEN }));
      await arbiter.start();
      url = rpc.url;
      client = new RpcClient(url, { token: TOKEN });
    });
    after(async () => {
      await arbiter?.stop();
      if (backend === 'redis') await dropNamespace();
    });

    it('counts a task whose worker dies twice: redelivered once, then lost and failed; the workers restarted', async () => {
      // Counting starts with the first scrape.
      expect((await scrape(url, TOKEN)).value('pulsar_tasks_queued_total', { queue, job: 'crash' })).to.equal(0);
      const id = (await client.queueTask('crash')) as string;
      const task = await client.waitForTask(id, 90);
      expect(task?.status).to.equal(FAILURE);
      expect(task?.redeliveries).to.equal(1);
      const labels = { queue, job: 'crash' };
      await eventually(url, (m) => {
        expect(m.value('pulsar_tasks_queued_total', labels)).to.equal(1);
        expect(m.value('pulsar_tasks_started_total', labels)).to.equal(2);
        expect(m.value('pulsar_tasks_redelivered_total', labels)).to.equal(1);
        expect(m.value('pulsar_tasks_retried_total', labels)).to.equal(0);
        expect(m.value('pulsar_tasks_lost_total', labels)).to.equal(1);
        expect(m.value('pulsar_tasks_failed_total', labels)).to.equal(1);
        expect(m.value('pulsar_worker_restarts_total', { queue })).to.equal(2);
        expect(m.value('pulsar_workers_alive', { queue })).to.equal(1);
      }, 60_000);
    });
  });
}
