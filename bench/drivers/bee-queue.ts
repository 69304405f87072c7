/**
 * Driver for bee-queue: this process is the producer (a Queue with `isWorker: false` and
 * `getEvents: true`); `workers` worker processes forked from bench/fixtures/bee-queue-worker.ts
 * each process `concurrency` jobs at once. Throughput queues with `Queue.saveAll` and counts
 * `job succeeded` events; latency is `createJob().save()` then that job's `job succeeded` event,
 * one at a time. The queue's keys are removed with `destroy()` at the end.
 */
import BeeQueue from 'bee-queue';
import { CompletionCounter } from '../lib/completion.js';
import { contenderResult, serveDriver, throughputPhase, throughputResult, timedRounds } from '../lib/driver-kit.js';
import { startFixture, type FixtureProcess } from '../lib/fixture-host.js';
import { additionData, latencyRuns } from '../lib/measure.js';
import { ownMemory } from '../lib/proc.js';
import type { DriverRequest, DriverResult, ThroughputResult } from '../lib/protocol.js';
import { statsConnection } from '../lib/redis-stats.js';
import type { AdditionData } from '../fixtures/addition.js';

const QUEUE = 'addition';

async function measure({ contender, settings, namespace, scope }: DriverRequest): Promise<DriverResult | ThroughputResult> {
  const start = ownMemory();
  const redis = settings.redis;
  if (!redis) throw new Error('bee-queue needs Redis');
  const queue = new BeeQueue<AdditionData>(QUEUE, {
    prefix: namespace,
    redis: { host: redis.host, port: redis.port, db: redis.db },
    isWorker: false,
    getEvents: true,
    activateDelayedJobs: false,
  });
  const stats = statsConnection(redis);
  const workers: FixtureProcess[] = [];
  // Results of finished jobs by id, for the latency waiters (an event may beat `save()`'s reply).
  const waiters = new Map<string, (result: unknown) => void>();
  const finished = new Map<string, unknown>();
  try {
    await queue.ready();
    const config = { redis, queue: QUEUE, prefix: namespace, concurrency: settings.concurrency };
    workers.push(...(await Promise.all(Array.from({ length: settings.workers }, () => startFixture('bee-queue-worker.ts', config)))));

    const counter = new CompletionCounter();
    let latencyPhase = false;
    queue.on('job succeeded', (jobId: string, result: unknown) => {
      if (!latencyPhase) return counter.done();
      const waiter = waiters.get(jobId);
      if (waiter) waiter(result);
      else finished.set(jobId, result);
    });
    const queueBulk = async (n: number) => {
      const failures = await queue.saveAll(Array.from({ length: n }, (_, i) => queue.createJob(additionData(i))));
      if (failures.size) throw new Error(`${failures.size} jobs not saved: ${String([...failures.values()][0])}`);
    };
    const phase = { settings, namespace, stats, workerPids: workers.map((w) => w.pid), producerRssStartMb: start.rssMb, queueBulk, counter };
    if (scope === 'throughput') return throughputResult(contender, settings, await timedRounds(phase));
    const { rounds, measured, monitored } = await throughputPhase(phase);

    latencyPhase = true;
    const latency = await latencyRuns(
      settings,
      async (i) => {
        const job = await queue.createJob(additionData(i)).save();
        if (finished.has(job.id)) {
          const result = finished.get(job.id);
          finished.delete(job.id);
          return result;
        }
        return new Promise<unknown>((resolve) => waiters.set(job.id, resolve)).finally(() => waiters.delete(job.id));
      },
    );
    const setup =
        `${settings.workers} worker processes (bench/fixtures/bee-queue-worker.ts), each process(${settings.concurrency}); ` +
        'producer saveAll, completion by `job succeeded` events, latency = createJob().save() + its `job succeeded`';
    return contenderResult(contender, setup, rounds, latency, measured, monitored);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await queue.destroy().catch((err: unknown) => console.error(`bee-queue destroy: ${String(err)}`));
    await queue.close();
    stats.disconnect();
  }
}

serveDriver(measure);
