/**
 * `npm run bench:scaling`: the scaling run alone (bench/lib/scaling.ts) — tasks/s of pulsar-tasks
 * redis://, BullMQ and bee-queue against concurrency per worker and against worker processes;
 * prints a markdown table, writes bench/scaling.json and bench/scaling.svg. `npm run bench` runs
 * the same after its comparison unless BENCH_SCALING=0. Settings: bench/lib/settings.ts.
 */
import '../src/backends/index.js';
import { taskBackends } from '../src/store/schemes.js';
import { buildPackage } from './lib/build.js';
import { probeRedis } from './lib/run-env.js';
import { runScaling } from './lib/scaling.js';
import { readScalingSettings, readSettings } from './lib/settings.js';

async function main(): Promise<void> {
  const { settings, redisTarget, only } = readSettings();
  const { passes, rounds } = readScalingSettings();
  buildPackage();
  if (!taskBackends.has('redis')) throw new Error('the redis:// scheme is not registered (src/backends/index.ts)');
  const probe = await probeRedis(redisTarget);
  await runScaling({ base: { ...settings, redis: probe.error ? null : redisTarget, redisPid: probe.pid }, probe, passes, rounds, only });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
