/**
 * Driver for BullMQ: this process is the producer (a Queue and a QueueEvents); `workers` worker
 * processes forked from bench/fixtures/bullmq-worker.ts each run one Worker with `concurrency`
 * slots. Throughput queues with `Queue.addBulk` and counts QueueEvents `completed`; latency is
 * `Queue.add` then `job.waitUntilFinished(queueEvents)`, one at a time. Jobs are kept after
 * completion (BullMQ's default, like pulsar-tasks keeps its tasks); the queue is obliterated at the end.
 */
import { Queue, QueueEvents } from 'bullmq';
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
  if (!redis) throw new Error('BullMQ needs Redis');
  const connection = { ...redis, maxRetriesPerRequest: null };
  // A round writes ~4 events per job; keep them all so QueueEvents never misses a `completed`.
  const queue = new Queue<AdditionData, number>(QUEUE, { connection, prefix: namespace, streams: { events: { maxLen: Math.max(10_000, settings.tasks * 5) } } });
  const events = new QueueEvents(QUEUE, { connection, prefix: namespace });
  const stats = statsConnection(redis);
  const workers: FixtureProcess[] = [];
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    const config = { redis, queue: QUEUE, prefix: namespace, concurrency: settings.concurrency };
    workers.push(...(await Promise.all(Array.from({ length: settings.workers }, () => startFixture('bullmq-worker.ts', config)))));

    const counter = new CompletionCounter();
    events.on('completed', counter.done);
    const queueBulk = async (n: number) => {
      await queue.addBulk(Array.from({ length: n }, (_, i) => ({ name: QUEUE, data: additionData(i) })));
    };
    const phase = { settings, namespace, stats, workerPids: workers.map((w) => w.pid), producerRssStartMb: start.rssMb, queueBulk, counter };
    if (scope === 'throughput') return throughputResult(contender, settings, await timedRounds(phase));
    const { rounds, measured, monitored } = await throughputPhase(phase);
    events.off('completed', counter.done);

    const latency = await latencyRuns(
      settings,
      async (i) => {
        const job = await queue.add(QUEUE, additionData(i));
        return job.waitUntilFinished(events, settings.deadlineMs);
      },
    );
    const setup =
        `${settings.workers} worker processes (bench/fixtures/bullmq-worker.ts), each one Worker with concurrency ${settings.concurrency}, in-process processor; ` +
        'producer Queue.addBulk, completion by QueueEvents `completed` (events stream maxLen raised to 5 × tasks so none is trimmed), ' +
        'jobs kept after completion (default), latency = add + waitUntilFinished';
    return contenderResult(contender, setup, rounds, latency, measured, monitored);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await events.close();
    await queue.obliterate({ force: true }).catch((err: unknown) => console.error(`bullmq obliterate: ${String(err)}`));
    await queue.close();
    stats.disconnect();
  }
}

serveDriver(measure);
