/**
 * Redis's cost per task of the redis:// store: `npx tsx bench/redis-cost.ts [tasks] [rounds]`.
 *
 * On a private redis-server (spec/support/redis-server.ts): a producer TaskBackend queues `tasks`
 * no-op `addition` tasks in bulk and counts their `task_done` broadcasts; a second TaskBackend on
 * its own RedisStore runs them with one inline worker (50 concurrent tasks, `CONCURRENCY=`). Around each round it
 * reads INFO commandstats (which counts the commands run inside scripts too) and INFO cpu, and
 * prints per task: every command Redis ran (sent and inside scripts, PUBLISH included), the
 * scripts called (evalsha), the PUBLISHes, Redis's CPU time (user + sys, µs) and the memory a
 * finished task keeps (used_memory growth over the round, before the flush), then the commands
 * by name. `SLOWLOG=1` also prints each script's own run time per task (Redis's slow log of every
 * command), and per round trip of the latency runs below (logging every command inflates both).
 * Also the CPU time of this process (producer and inline worker) per task, and the
 * latency of LATENCY (default 300) sequential queue -> waitForTask round trips, with Redis's
 * commands, its scripts' own time and its CPU per round trip (the one-task path's cost: steadier
 * than its latency on a machine whose wake-ups vary). `AOF=no` in the environment turns the
 * append-only file off. The first round warms up (script loading, JIT) and is not counted; the
 * median round is reported, with every round's figures beside it.
 */
import { Redis } from 'ioredis';
import { RedisStore } from '../src/backends/redis/redis.js';
import { scripts } from '../src/backends/redis/redis-scripts.js';
import { configureLogging } from '../src/infra/logger.js';
import { JobRegistry } from '../src/job/registry.js';
import { TaskBackend } from '../src/producer/backend.js';
import { TestRedisServer } from '../spec/support/redis-server.js';
import { startWorker } from '../src/worker/worker-runtime.js';

configureLogging({ level: 'warn' });

const TASKS = Number(process.argv[2] ?? 5000);
const ROUNDS = Number(process.argv[3] ?? 3);
/** Concurrent tasks of the worker (`CONCURRENCY=` in the environment; default 50). */
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);
/** Sequential round trips timed after the rounds (`LATENCY=`; default 300). */
const LATENCY = Number(process.env.LATENCY ?? 300);
let latency = '';

interface Round {
  commands: number;
  scripts: number;
  publishes: number;
  cpuUs: number;
  mainUs: number;
  /** Redis used_memory growth per task, all of them finished and kept (bytes). */
  bytes: number;
  /** CPU time of this process (producer and inline worker), µs per task. */
  clientUs: number;
  ms: number;
  byCommand: Map<string, number>;
}

async function counters(admin: Redis): Promise<{ calls: Map<string, number>; usec: Map<string, number>; cpuUs: number; mainUs: number; memory: number }> {
  const [stats, cpu, memory] = await Promise.all([admin.info('commandstats'), admin.info('cpu'), admin.info('memory')]);
  const calls = new Map<string, number>();
  const usec = new Map<string, number>();
  for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    calls.set(m[1] as string, Number(m[2]));
    usec.set(m[1] as string, Number(m[3]));
  }
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? NaN);
  return {
    calls,
    usec,
    cpuUs: (field('used_cpu_user') + field('used_cpu_sys')) * 1e6,
    mainUs: (field('used_cpu_user_main_thread') + field('used_cpu_sys_main_thread')) * 1e6,
    memory: Number(/^used_memory:(\d+)/m.exec(memory)?.[1] ?? NaN),
  };
}

/** Empties the slow log and has it log every command from now on (slowlogByScript stops it). */
async function logEveryCommand(admin: Redis): Promise<void> {
  await admin.slowlog('RESET');
  await admin.config('SET', 'slowlog-log-slower-than', '0');
}

/**
 * µs per task (or per round trip: `per` is what the total is divided by) of each script and of
 * other commands, from the slow log since logEveryCommand, which this stops.
 */
async function slowlogByScript(admin: Redis, per: number): Promise<string> {
  await admin.config('SET', 'slowlog-log-slower-than', '10000');
  // A script runs as EVALSHA (its sha) or, on Redis 7, as FCALL (its function's name).
  const bySha = new Map<string, string>(Object.values(scripts).flatMap((s) => [[s.sha, s.name], [s.functionName, s.name]]));
  const entries = (await admin.call('SLOWLOG', 'GET', '-1')) as [number, number, number, string[]][];
  const total = new Map<string, number>();
  for (const [, , us, args] of entries) {
    const cmd = String(args[0]).toLowerCase();
    const name = cmd === 'evalsha' || cmd === 'fcall' ? (bySha.get(String(args[1])) ?? `${cmd}?`) : cmd;
    total.set(name, (total.get(name) ?? 0) + us);
  }
  return [...total].sort((a, b) => b[1] - a[1]).map(([n, us]) => `${n} ${(us / per).toFixed(1)}`).join(', ');
}

async function main(): Promise<void> {
  const server = await TestRedisServer.start();
  const admin = new Redis(server.url(), { maxRetriesPerRequest: 1 });
  // No background AOF rewrite during the rounds: its fork is not the store's cost.
  await admin.config('SET', 'auto-aof-rewrite-percentage', '0');
  // AOF=no: without the append-only file, to see what persistence costs.
  if (process.env.AOF === 'no') await admin.config('SET', 'appendonly', 'no');
  const url = `${server.url()}?namespace=cost`;
  const registry = await JobRegistry.load(['jobs/*']);
  const open = (): TaskBackend => new TaskBackend(new RedisStore(url, { name: 'cost' }), { name: 'cost', url, registry, concurrentTasks: CONCURRENCY });
  const producer = open();
  const worker = open();
  let done = 0;
  let target = Infinity;
  let finished: () => void = () => undefined;
  producer.on('task_done', () => {
    done += 1;
    if (done >= target) finished();
  });
  await producer.ensureSubscribed();
  startWorker(worker, { id: 'cost-w1', concurrency: 'inline', pid: process.pid });
  const rounds: Round[] = [];
  // SLOWLOG=1: every command's own run time (scripts included) from SLOWLOG, by script, per task.
  const slowlog = process.env.SLOWLOG === '1';
  if (slowlog) await admin.config('SET', 'slowlog-max-len', '1000000');
  try {
    for (let r = 0; r <= ROUNDS; r++) {
      done = 0;
      target = TASKS;
      const all = new Promise<void>((resolve) => (finished = resolve));
      if (slowlog) await logEveryCommand(admin);
      const before = await counters(admin);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let from = 0; from < TASKS; from += 1000) {
        const n = Math.min(1000, TASKS - from);
        await producer.queueTasks(Array.from({ length: n }, (_, i) => ({ jobName: 'addition', kwargs: { a: from + i, b: 1 } })));
      }
      await all;
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const after = await counters(admin);
      if (slowlog) console.log(`  own time per task: ${await slowlogByScript(admin, TASKS)}`);
      const byCommand = new Map<string, number>();
      for (const [cmd, calls] of after.calls) {
        const d = calls - (before.calls.get(cmd) ?? 0) - (cmd === 'info' ? 3 : 0);
        if (d > 0) byCommand.set(cmd, d);
      }
      const total = [...byCommand.values()].reduce((s, n) => s + n, 0);
      const round = {
        commands: total / TASKS,
        scripts: ((byCommand.get('evalsha') ?? 0) + (byCommand.get('eval') ?? 0) + (byCommand.get('fcall') ?? 0)) / TASKS,
        publishes: (byCommand.get('publish') ?? 0) / TASKS,
        cpuUs: (after.cpuUs - before.cpuUs) / TASKS,
        mainUs: (after.mainUs - before.mainUs) / TASKS,
        bytes: (after.memory - before.memory) / TASKS,
        clientUs: (cpu.user + cpu.system) / TASKS,
        ms,
        byCommand,
      };
      if (r > 0) rounds.push(round);
      console.log(
        `${r === 0 ? 'warm-up' : `round ${r}`}: ${round.commands.toFixed(2)} cmds/task, ${round.scripts.toFixed(3)} scripts/task, ` +
          `${round.publishes.toFixed(2)} PUBLISH/task, ${round.cpuUs.toFixed(1)} µs Redis CPU/task (main thread ${round.mainUs.toFixed(1)}), ${round.clientUs.toFixed(1)} µs client CPU/task, ${Math.round((TASKS / ms) * 1000)} tasks/s, ${Math.round(round.bytes)} B/finished task`,
      );
      await producer.flush();
    }
    // Latency: one task at a time, queue -> its result seen by waitForTask (after 20 untimed), and
    // what Redis spent per round trip: its commands, its scripts' own time, its CPU.
    const samples: number[] = [];
    let before: Awaited<ReturnType<typeof counters>> | null = null;
    for (let i = 0; LATENCY > 0 && i < LATENCY + 20; i++) {
      if (i === 20) {
        if (slowlog) await logEveryCommand(admin);
        before = await counters(admin);
      }
      const t = performance.now();
      const id = await producer.queueTask('addition', { a: i, b: 1 });
      await producer.waitForTask(id as string, 30);
      if (i >= 20) samples.push(performance.now() - t);
    }
    samples.sort((a, b) => a - b);
    if (samples.length && before) {
      const after = await counters(admin);
      const n = samples.length;
      const delta = (m: Map<string, number>, base: Map<string, number>, only?: (cmd: string) => boolean) =>
        [...m].filter(([cmd]) => cmd !== 'info' && (!only || only(cmd))).reduce((sum, [cmd, v]) => sum + v - (base.get(cmd) ?? 0), 0);
      const isScript = (cmd: string) => cmd === 'fcall' || cmd === 'evalsha' || cmd === 'eval';
      const pct = (p: number) => (samples[Math.min(n - 1, Math.floor((p / 100) * n))] as number).toFixed(3);
      const own = slowlog ? `; own time per round trip (slow log): ${await slowlogByScript(admin, n)}` : '';
      latency =
        `latency (${n} sequential queue -> waitForTask): p50 ${pct(50)} ms, p95 ${pct(95)} ms; per round trip ` +
        `${(delta(after.calls, before.calls) / n).toFixed(1)} commands (scripts and the commands inside them), ` +
        `scripts ${(delta(after.usec, before.usec, isScript) / n).toFixed(1)} µs, Redis CPU ${((after.cpuUs - before.cpuUs) / n).toFixed(1)} µs${own}`;
    }
  } finally {
    await worker.close(5);
    await producer.close(1);
    admin.disconnect();
    await server.destroy();
  }
  // On a shared machine CPU time only grows with contention: the least is the store's own cost.
  const byCpu = [...rounds].sort((a, b) => a.cpuUs - b.cpuUs);
  const median = byCpu[Math.floor(rounds.length / 2)] as Round;
  console.log(`\n${TASKS} tasks, least Redis CPU of ${rounds.length} rounds: ${(byCpu[0] as Round).cpuUs.toFixed(1)} µs/task`);
  console.log(`${TASKS} tasks, median round by CPU:`);
  console.log(`  commands/task ${median.commands.toFixed(2)}  scripts/task ${median.scripts.toFixed(3)}  PUBLISH/task ${median.publishes.toFixed(2)}  Redis CPU µs/task ${median.cpuUs.toFixed(1)} (main thread ${median.mainUs.toFixed(1)})`);
  const by = [...median.byCommand].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${(n / TASKS).toFixed(2)}`);
  console.log(`  by command: ${by.join(', ')}`);
  const byClient = [...rounds].sort((a, b) => a.clientUs - b.clientUs);
  console.log(`  client CPU (producer + inline worker) µs/task: least ${(byClient[0] as Round).clientUs.toFixed(1)}, median ${(byClient[Math.floor(rounds.length / 2)] as Round).clientUs.toFixed(1)}; B/finished task ${Math.round(median.bytes)}; tasks/s best ${Math.round(Math.max(...rounds.map((r) => (TASKS / r.ms) * 1000)))}`);
  console.log(`  ${latency}`);
}

await main();
