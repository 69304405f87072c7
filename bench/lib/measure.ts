/**
 * The two timed procedures every driver runs with its own queue calls: a bulk throughput round
 * (queue N tasks in one call, time until the producer sees the last completion) and sequential
 * round trips (queue one task, wait for its result, repeat).
 */
import type { CompletionCounter } from './completion.js';
import type { BenchSettings, ThroughputRound } from './protocol.js';
import { round } from './stats.js';

/** Queues `tasks` with `queueBulk` and times until `counter` has seen them all done. */
export async function throughputRound(
  tasks: number,
  queueBulk: (n: number) => Promise<void>,
  counter: CompletionCounter,
  deadlineMs: number,
): Promise<ThroughputRound> {
  const allDone = counter.expect(tasks, deadlineMs, 'throughput round');
  const start = performance.now();
  await queueBulk(tasks);
  const queued = performance.now();
  await allDone;
  const end = performance.now();
  return {
    tasks,
    queueMs: round(queued - start, 1),
    totalMs: round(end - start, 1),
    tasksPerSec: Math.round((tasks * 1000) / (end - start)),
  };
}

/**
 * Runs `warmup` untimed then `samples` timed round trips, one at a time, and returns their times
 * in ms. `roundTrip(i)` queues a task adding `i + 1` and returns its result, which is checked.
 */
export async function latencyRun(
  samples: number,
  warmup: number,
  roundTrip: (i: number) => Promise<unknown>,
  deadlineMs: number,
): Promise<number[]> {
  const times: number[] = [];
  const until = Date.now() + deadlineMs;
  for (let i = 0; i < warmup + samples; i++) {
    if (Date.now() > until) throw new Error(`latency: ${times.length} of ${samples} samples after ${deadlineMs} ms`);
    const start = performance.now();
    const result = await roundTrip(i);
    const elapsed = performance.now() - start;
    if (Number(result) !== i + 1) throw new Error(`latency: task ${i} returned ${JSON.stringify(result)}, expected ${i + 1}`);
    if (i >= warmup) times.push(elapsed);
  }
  return times;
}

/**
 * The two latency runs of a driver: `cold`, the first `latencyTasks` samples after
 * `latencyWarmup` untimed round trips (a process that just started), then `steady`, as many again
 * after `steadyWarmup` more untimed ones (once the JIT has optimized the sequential path).
 */
export async function latencyRuns(
  settings: Pick<BenchSettings, 'latencyTasks' | 'latencyWarmup' | 'steadyWarmup' | 'deadlineMs'>,
  roundTrip: (i: number) => Promise<unknown>,
): Promise<{ cold: number[]; steady: number[] }> {
  const cold = await latencyRun(settings.latencyTasks, settings.latencyWarmup, roundTrip, settings.deadlineMs);
  // The steady run's warm-up alone may take several seconds: its deadline grows with it.
  const deadlineMs = settings.deadlineMs + settings.steadyWarmup * 10;
  const steady = await latencyRun(settings.latencyTasks, settings.steadyWarmup, roundTrip, deadlineMs);
  return { cold, steady };
}

/** Kwargs of the no-op addition task number `i`: `{ a: i, b: 1 }`. */
export function additionData(i: number): { a: number; b: number } {
  return { a: i, b: 1 };
}
