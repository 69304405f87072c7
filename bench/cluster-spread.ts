/**
 * `npx tsx bench/cluster-spread.ts`: how one queue spreads its Redis work over a Redis Cluster.
 * Starts a private cluster of 3 masters + 3 replicas (spec/support/redis-cluster.ts) and a private
 * redis-server, then, one after the other in this run: one node with shards=1, the cluster with
 * shards=1, the cluster with shards=6. Each: BENCH_TASKS (default 4000) no-op `addition` tasks
 * queued in batches of 500, run by 2 inline workers × 50 concurrent tasks in this process, timed
 * to the last completion. Per master: its share of the commands (INFO commandstats deltas, server
 * commands left out) and of Redis CPU (INFO cpu deltas), and CPU per task, after a warm-up round
 * that is not reported. Prints a markdown table and writes bench/cluster-spread.json. Everything it starts is stopped and removed at the end.
 *
 * On a 2-core machine the client process, six cluster nodes and the replicas share two cores:
 * the throughput here shows the cost of the cluster path, not the scaling, which needs a core
 * (or a machine) per master.
 */
import { writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { JobRegistry } from '../src/job/registry.js';
import { SUCCESS } from '../src/model/states.js';
import { TaskBackend } from '../src/producer/backend.js';
import { ShardedRedisStore } from '../src/backends/redis/redis-shards.js';
import { startWorker } from '../src/worker/worker-runtime.js';
import { TestRedisCluster } from '../spec/support/redis-cluster.js';
import { TestRedisServer } from '../spec/support/redis-server.js';

const TASKS = Number(process.env.BENCH_TASKS ?? 4000);
const SERVER_COMMANDS = new Set(['info', 'config', 'cluster', 'ping', 'client', 'command', 'select', 'hello', 'readonly', 'time']);

interface NodeStats {
  calls: number;
  cpuSec: number;
}

async function nodeStats(port: number): Promise<NodeStats> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  await c.connect();
  try {
    const text = `${await c.info('commandstats')}\n${await c.info('cpu')}`;
    let calls = 0;
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (!SERVER_COMMANDS.has(m[1]!.split('|')[0]!)) calls += Number(m[2]);
    const cpu = (key: string) => Number(new RegExp(`^${key}:([\\d.]+)`, 'm').exec(text)?.[1] ?? 0);
    return { calls, cpuSec: cpu('used_cpu_user') + cpu('used_cpu_sys') };
  } finally {
    c.disconnect();
  }
}

interface Row {
  setup: string;
  tasksPerSec: number;
  masters: { port: number; commandShare: number; cpuShare: number; cpuUsPerTask: number }[];
  commandsPerTask: number;
  redisCpuUsPerTask: number;
}

async function measure(setup: string, url: string, masters: number[], registry: JobRegistry): Promise<Row> {
  const name = `spread${Math.random().toString(36).slice(2, 8)}`;
  const backends: TaskBackend[] = [];
  const open = (extra = {}) => {
    const b = new TaskBackend(new ShardedRedisStore(url, { name }), { name, url, registry, ...extra });
    backends.push(b);
    return b;
  };
  const p = open();
  await p.store.numQueued();
  const before = await Promise.all(masters.map(nodeStats));
  const started = performance.now();
  let done = 0;
  let allDone!: () => void;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  await p.store.subscribe((event) => {
    if (event === 'task_done' && ++done === TASKS) allDone();
  });
  for (let w = 0; w < 2; w++) startWorker(open({ concurrentTasks: 50, pollTimeout: 1 }), { id: `${name}-w${w}`, concurrency: 'inline', pid: process.pid });
  for (let from = 0; from < TASKS; from += 500) {
    await p.queueTasks(Array.from({ length: Math.min(500, TASKS - from) }, (_, i) => ({ jobName: 'addition', kwargs: { a: from + i, b: 1 } })));
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const after = await Promise.all(masters.map(nodeStats));
  const ok = (await p.getTasks({ status: SUCCESS })).length;
  await Promise.all(backends.filter((b) => b.runtime).map((b) => b.close(1)));
  await p.store.flush();
  await Promise.all(backends.map((b) => b.close(1)));
  const calls = after.map((a, i) => a.calls - before[i]!.calls);
  const cpu = after.map((a, i) => a.cpuSec - before[i]!.cpuSec);
  const totalCalls = calls.reduce((a, b) => a + b, 0);
  const totalCpu = cpu.reduce((a, b) => a + b, 0);
  console.error(`${setup}: ${TASKS} tasks in ${seconds.toFixed(2)} s (${ok >= Math.min(TASKS, 1000) ? 'all SUCCESS' : `${ok} SUCCESS listed`})`);
  return {
    setup,
    tasksPerSec: Math.round(TASKS / seconds),
    masters: masters.map((port, i) => ({
      port,
      commandShare: calls[i]! / totalCalls,
      cpuShare: cpu[i]! / totalCpu,
      cpuUsPerTask: (cpu[i]! * 1e6) / TASKS,
    })),
    commandsPerTask: totalCalls / TASKS,
    redisCpuUsPerTask: (totalCpu * 1e6) / TASKS,
  };
}

async function main(): Promise<void> {
  const registry = await JobRegistry.load(['jobs/*']);
  const server = await TestRedisServer.start();
  const cluster = await TestRedisCluster.start();
  process.once('exit', () => cluster.destroyNow());
  const rows: Row[] = [];
  try {
    const masters = (await cluster.masters()).map((n) => n.port);
    // A first round warms this process up (JIT, connections): not reported.
    await measure('warm-up', `${server.url()}?namespace=bench`, [server.port], registry);
    rows.push(await measure('one node, shards=1', `${server.url()}?namespace=bench`, [server.port], registry));
    rows.push(await measure('cluster, shards=1', cluster.url({ namespace: 'bench', shards: '1' }), masters, registry));
    rows.push(await measure('cluster, shards=6', cluster.url({ namespace: 'bench', shards: '6' }), masters, registry));
  } finally {
    cluster.destroyNow();
    await server.destroy();
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  console.log(`\n${TASKS} tasks per setup, 2 inline workers × 50, ${new Date().toISOString()}\n`);
  console.log('| setup | tasks/s | commands/task | Redis CPU µs/task | per master: commands share / CPU share |');
  console.log('|---|---:|---:|---:|---|');
  for (const r of rows) {
    const per = r.masters.map((m) => `${pct(m.commandShare)} / ${pct(m.cpuShare)}`).join(' · ');
    console.log(`| ${r.setup} | ${r.tasksPerSec} | ${r.commandsPerTask.toFixed(1)} | ${r.redisCpuUsPerTask.toFixed(0)} | ${per} |`);
  }
  writeFileSync(new URL('./cluster-spread.json', import.meta.url), `${JSON.stringify({ tasks: TASKS, at: new Date().toISOString(), rows }, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
