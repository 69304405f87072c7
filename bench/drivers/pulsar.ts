/**
 * Driver for pulsar-tasks (local:// or redis://), as built (dist/): an Arbiter in this process runs
 * a TaskQueue with `workers` process workers of `concurrency` concurrent tasks each, loading jobs/*; for
 * pulsar-inline, one inline worker (in this process: no IPC at all) and `inlineTasks` per round. This
 * process is the producer: it queues `addition` tasks with `backend.queueTasks` (one bulk call)
 * and counts `task_done` broadcasts; latency is `queueTask` then `waitForTask`, one at a time.
 */
import { fileURLToPath } from 'node:url';
import { PACKAGE } from '../lib/build.js';
import { CompletionCounter } from '../lib/completion.js';
import { contenderResult, serveDriver, throughputPhase, throughputResult, timedRounds } from '../lib/driver-kit.js';
import { additionData, latencyRuns } from '../lib/measure.js';
import { ownMemory } from '../lib/proc.js';
import type { DriverRequest, DriverResult, ThroughputResult } from '../lib/protocol.js';
import { statsConnection } from '../lib/redis-stats.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// The package as built (bench/lib/build.ts: bench/run.ts builds it first), typed by its sources.
const { Arbiter, TaskQueue, configureLogging, purgeTasks, taskBackends } = (await import(PACKAGE)) as typeof import('../../src/index.js');

configureLogging({ level: 'warn' });

async function measure({ contender, settings: requested, namespace, scope }: DriverRequest): Promise<DriverResult | ThroughputResult> {
  const start = ownMemory();
  const inline = contender === 'pulsar-inline';
  const settings = inline ? { ...requested, tasks: requested.inlineTasks, workers: 1 } : requested;
  const redisTarget = contender === 'pulsar-redis' ? settings.redis : null;
  if (contender === 'pulsar-redis') {
    if (!redisTarget) throw new Error('pulsar-redis needs Redis');
    if (!taskBackends.has('redis')) throw new Error('the redis:// scheme is not registered');
  }
  const url = redisTarget ? `redis://${redisTarget.host}:${redisTarget.port}/${redisTarget.db}?namespace=${namespace}` : 'local://';

  const workerPids = new Set<number>();
  let onWorkerReady = () => {};
  let workersReady = 0;
  const allReady = new Promise<void>((resolve) => (onWorkerReady = () => ++workersReady >= settings.workers && resolve()));
  const arbiter = new Arbiter({ name: namespace, handleSignals: false });
  const tq = arbiter.add(
    new TaskQueue({
      name: 'bench',
      // The built jobs: they import the built package.
      taskPaths: ['dist/jobs/*'],
      cwd: ROOT,
      taskBackend: url,
      workers: settings.workers,
      concurrency: inline ? 'inline' : 'process',
      concurrentTasks: settings.concurrency,
      workerStart: (worker) => {
        // An inline worker is this process: its CPU is the producer's.
        if (worker.pid !== null && !inline) workerPids.add(worker.pid);
        onWorkerReady();
      },
    }),
  );
  const stats = redisTarget ? statsConnection(redisTarget) : null;
  await arbiter.start();
  try {
    await withDeadline(allReady, 30_000, 'pulsar-tasks workers did not start');
    const backend = tq.backend;
    const counter = new CompletionCounter();
    backend.on('task_done', counter.done);
    await backend.ensureSubscribed();

    const queueBulk = async (n: number) => {
      const ids = await backend.queueTasks(Array.from({ length: n }, (_, i) => ({ jobName: 'addition', kwargs: additionData(i) })));
      if (ids.some((id) => id === null)) throw new Error('a task was not queued');
    };
    // local://'s store lives in this process: the window also reads the heap without its ended tasks.
    const dropStored = redisTarget ? undefined : async () => void (await purgeTasks(backend, 0));
    const phase = { settings, namespace, stats, workerPids: [...workerPids], producerRssStartMb: start.rssMb, queueBulk, counter, dropStored };
    if (scope === 'throughput') return throughputResult(contender, settings, await timedRounds(phase));
    const { rounds, measured, monitored } = await throughputPhase(phase);

    const latency = await latencyRuns(
      settings,
      async (i) => {
        const id = await backend.queueTask('addition', additionData(i));
        if (id === null) throw new Error('latency task not queued');
        return (await backend.waitForTask(id, settings.deadlineMs / 1000))?.result;
      },
    );
    const setup =
        `the package as built (dist/); taskBackend ${url.replace(/\?.*$/, '')}; Arbiter + TaskQueue in the producer process, ` +
        (inline
          ? `one inline worker (concurrency: 'inline', in the producer process) × concurrentTasks ${settings.concurrency}, ${settings.tasks} tasks per round, dist/jobs/*; `
          : `${settings.workers} process workers (concurrency: 'process') × concurrentTasks ${settings.concurrency}, dist/jobs/*; `) +
        'producer backend.queueTasks (bulk), completion by task_done broadcasts, latency = queueTask + waitForTask';
    return contenderResult(contender, setup, rounds, latency, measured, monitored);
  } finally {
    // The backend's own cleanup: removes this app's tasks (its Redis keys, for redis://).
    await Promise.resolve()
      .then(() => tq.backend.flush())
      .catch((err: unknown) => console.error(`pulsar-tasks flush: ${String(err)}`));
    await arbiter.stop();
    stats?.disconnect();
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

serveDriver(measure);
