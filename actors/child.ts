/**
 * One interface over child_process.fork() and worker_threads: the Worker actor's view of its child.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Worker as ThreadWorker } from 'node:worker_threads';
import { isFromChild, type FromChild, type ToChild } from './child-protocol.js';

const BOOT = new URL('./child-boot.mjs', import.meta.url);
const ENTRY = new URL(import.meta.url.endsWith('.ts') ? './child-entry.ts' : './child-entry.js', import.meta.url);

/**
 * V8 settings of a worker process, before the parent's own flags (which win: V8 keeps the last of
 * a flag, so `node --max-semi-space-size=16 ...` restores V8's default):
 * - a 4 MiB semi-space (V8: up to 16): a worker allocates fast and keeps little (a task's objects
 *   die with it), so a small nursery promotes little and its scavenges stay cheap. 2 MiB was the
 *   setting while a worker's Redis writes kept an async frame per task alive until answered;
 *   without them (redis-deliveries.ts) a scavenge keeps ~190 KB, and at 4 MiB half as many
 *   scavenges keep about as much: worker GC time ~430–510 → ~280–330 ms per 40k tasks (median of
 *   three interleaved scratch runs each, redis://, 2 workers × 50), at 8 MiB no better than 2;
 * - the old generation grows 2× over what a full GC left, not up to 4× (V8's dynamic factor under
 *   a high allocation rate): the heap stays near the live data. Measured with the semi-space
 *   (scratch runs, 2 workers × 50, 25k no-op tasks, loaded 2-core machine): worker RSS local://
 *   ~135–165 → ~102–107 MiB, redis:// ~153–181 → ~109–114 MiB; worker CPU per task within the
 *   run-to-run noise (±20 %), at most ~10 % more;
 * - an interrupt budget of 2000 (V8: 67584) before a function is considered for optimization: a
 *   path a worker had not run much is optimized after about 30× fewer runs. That counts for the
 *   one-task path after batches (a wake-up from a parked pull, a finish that broadcasts its task:
 *   8000 instead of V8's default took the p50 of sequential round trips after 5 throughput rounds
 *   from 0.87–1.02 to 0.79–0.84 ms) and for the batch path itself: code run once per pull or per
 *   finish of 50 tasks (the pull, ioredis's reply parser, Node's stream functions) reached
 *   TurboFan only in a worker's third to fifth round of 5000 tasks at 8000, its compiles on the
 *   worker's thread then (80–90 ms a round) and its slower code before. Measured at 2000 against
 *   8000 (scratch runs on redis://, 2 workers × 50, the median of the five rounds of 5000 after a
 *   first, 32 cycles in four sets with the order rotating): 29 of 32 cycles faster, means of the
 *   medians 25.6k → 30.5k, 25.4k → 29.6k, 25.2k → 29.7k, 23.0k → 25.7k tasks/s, the workers' CPU
 *   per task over those rounds 25–28 → 20–24 µs; the cold p50 of the sequential round trips after
 *   them the same within the noise (0.54–0.58 ms either way; 0.71 → 0.66 in a slower hour); a
 *   worker starts about 0.3 s later (more of its module loading compiled: 1.1–1.3 → 1.4–1.6 s for
 *   two workers with plain node), its RSS the same. 1000 was a little faster still (30.3k) and
 *   compiles more. In the bench itself (eight pairs of runs against 8000 on another machine):
 *   7 of 8 faster (+8%), the cold p50 0.519 against 0.499 ms on average, 8000 lower in 7 of 8
 *   where the set above had 2000 lower in 8 of 10: a few percent at most, kept
 *   (docs/performance.md: every run of it);
 * - on a machine of two cores or fewer, no concurrent recompilation: V8 optimizes a hot function
 *   on the worker's own thread, not on a helper thread whose CPU, with two cores, comes from Redis
 *   and the producer, on the path of every task. Measured (scratch runs on redis://, 2 workers ×
 *   50, 2-core machine, the first 500 sequential round trips after 7 or 11 throughput rounds, ten
 *   interleaved pairs): p50 0.666 / 0.629 / 0.594 / 0.534 / 0.517 / 0.586 / 0.756 / 0.621 / 0.675
 *   / 0.615 → 0.577 / 0.550 / 0.495 / 0.508 / 0.476 / 0.467 / 0.764 / 0.652 / 0.544 / 0.546 ms
 *   (mean 0.619 → 0.558); throughput rounds, seven pairs, mean 27.3k → 27.0k tasks/s (the same
 *   within the noise). `--single-threaded` (the garbage collector's helpers too): p50 about as
 *   low, throughput 24.3k–25.8k against 25.3k–33.8k (worse);
 * - no allocation-site pretenuring: V8 would allocate the objects of a site whose objects often
 *   survive a young collection straight in the old generation. A worker's task objects (the pulled
 *   task, its run, its writes) live as long as the task is in flight, a few collections at most,
 *   then die: pretenured, they die in the old generation, which only a full collection reclaims.
 *   Measured (scratch runs on redis://, 2 workers × 50, the bench's second to sixth rounds of 5000
 *   in a fresh process, seven interleaved pairs): median 24.3k → 26.4k tasks/s on average (5 pairs
 *   of 7 better), the workers' CPU over those rounds 741 → 606 ms; cold sequential p50 the same
 *   (0.492 / 0.507 / 0.495 → 0.487 / 0.494 / 0.493 ms).
 */
export const PROCESS_V8_FLAGS: readonly string[] = [
  '--max-semi-space-size=4',
  '--heap-growing-percent=100',
  '--interrupt-budget=2000',
  ...(availableParallelism() <= 2 ? ['--no-concurrent-recompilation'] : []),
  '--no-allocation-site-pretenuring',
];

/**
 * The young generation of a worker thread: a 2 MiB semi-space (V8 sizes it 3 × a semi-space; a
 * thread shares its process's heap and was not measured at 4).
 * V8 flags are the whole process's, the arbiter's too: a thread gets only this limit.
 */
export const THREAD_YOUNG_GENERATION_MB = 6;

/** A running child. */
export interface ChildHandle {
  readonly pid: number;
  readonly threadId?: number;
  send(message: ToChild): void;
  onMessage(listener: (message: FromChild) => void): void;
  /** Called once, when the child is gone: an exit code or the signal that killed it. */
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  /** Ends the child at once (SIGKILL / terminate). */
  kill(): void;
}

/**
 * How messages cross a process child's IPC channel: JSON. Everything that crosses is plain JSON
 * by contract (wire tasks, fences, store answers, wire errors, the child's config), and the
 * arbiter's largest IPC cost is reading its children's store calls: a wire task parses ~1.8×
 * faster from JSON than V8's structured deserialization ('advanced': ~2.5 µs → ~1.4 µs a record,
 * the same write cost). Measured (scratch runs, 2 workers × 50, 6 × 5000 no-op tasks, 6 runs
 * alternated, medians; loaded 2-core machine): arbiter CPU 34.4 → 28.9 ms per 1000 tasks,
 * workers 49.6 → 50.0, throughput 15.1k → 17.1k tasks/s.
 */
export const PROCESS_SERIALIZATION = 'json';

/**
 * Forks a child process running the worker entry, in a process group of its own: a terminal's
 * Ctrl-C (SIGINT to the foreground group) reaches the arbiter only, which alone stops its workers.
 * The child also ignores SIGINT/SIGTERM (systemd signals the whole cgroup), and exits when its IPC
 * channel closes, so a kill -9 of the arbiter leaves no orphan behind.
 */
export function forkChild(): ChildHandle {
  const execArgv = [...PROCESS_V8_FLAGS, ...process.execArgv];
  const child: ChildProcess = fork(BOOT, [ENTRY.href], { stdio: 'inherit', serialization: PROCESS_SERIALIZATION, detached: true, execArgv });
  return {
    pid: child.pid ?? -1,
    send: (message) => {
      if (child.connected) child.send(message);
    },
    onMessage: (listener) => child.on('message', (m) => isFromChild(m) && listener(m)),
    onExit: (listener) => child.once('exit', (code, signal) => listener(code, signal)),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Starts a worker thread running the worker entry. */
export function spawnThread(): ChildHandle {
  const thread = new ThreadWorker(BOOT, { workerData: { entry: ENTRY.href }, resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB } });
  let exited = false;
  thread.once('exit', () => (exited = true));
  return {
    pid: process.pid,
    threadId: thread.threadId,
    send: (message) => {
      if (!exited) thread.postMessage(message);
    },
    onMessage: (listener) => thread.on('message', (m) => isFromChild(m) && listener(m)),
    onExit: (listener) => {
      let errorText: string | null = null;
      thread.on('error', (err) => (errorText = `error: ${err.message}`));
      thread.once('exit', (code) => listener(code, errorText));
    },
    kill: () => {
      if (!exited) void thread.terminate();
    },
  };
}
