/**
 * WorkerRuntime: the worker side of a backend. Pulls as many tasks as it has free slots, runs
 * them in SPEC §5's order, renews their leases, and stops gracefully.
 */
import { kwargsProblem } from '../job/kwargs-schema.js';
import { secondsText } from '../infra/text.js';
import { clipText, resultProblem } from '../model/limits.js';
import { EventEmitter } from 'node:events';
import { DateTime } from 'luxon';
import { TaskNotAvailable } from '../model/errors.js';
import type { TaskBackend } from '../producer/backend.js';
import { TaskConsumer, type WorkerInfo } from './consumer.js';
import type { Job } from '../job/job.js';
import { toJsonResult } from '../model/json.js';
import { getLogger } from '../infra/logger.js';
import { FAILURE, RETRY, REVOKED, STARTED, SUCCESS, type TaskStatus } from '../model/states.js';
import { Task, type WireTask } from '../model/task.js';

export interface RuntimeOptions {
  /** Seconds a job may ignore its aborted signal before the worker calls itself stuck. */
  stuckGrace: number;
}

/** Events: `idle` (maxTasks reached and nothing running), `stuck` (a timed-out job ignores its signal), `processed`. */
export class WorkerRuntime extends EventEmitter {
  /** Ids of the tasks running here. */
  readonly running = new Set<string>();
  /** Tasks run to their end here. */
  processed = 0;
  private pulled = 0;
  private active = false;
  private loopDone: Promise<void> = Promise.resolve();
  private slotWaiter: (() => void) | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly aborters = new Map<string, AbortController>();
  private outage = false;
  private readonly log;
  private readonly stuckGrace: number;

  constructor(
    readonly backend: TaskBackend,
    readonly worker: WorkerInfo,
    options: Partial<RuntimeOptions> = {},
  ) {
    super();
    this.stuckGrace = options.stuckGrace ?? 5;
    this.log = getLogger(`pulsar.${backend.name}.worker`);
  }

  private get leaseMs(): number {
    return this.backend.leaseTimeout * 1000;
  }

  /** Starts the pull loop and the lease renewal. */
  start(): void {
    if (this.active) return;
    this.active = true;
    this.loopDone = this.loop();
    this.renewTimer = setInterval(() => this.renew(), Math.max(100, this.leaseMs / 3));
    this.renewTimer.unref();
  }

  /** True when maxTasks is reached: no more pulling. */
  get exhausted(): boolean {
    return this.backend.maxTasks > 0 && this.pulled >= this.backend.maxTasks;
  }

  private async loop(): Promise<void> {
    const store = this.backend.store;
    while (this.active && !this.exhausted) {
      const free = this.backend.backlog - this.running.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotWaiter = resolve));
        continue;
      }
      const max = this.backend.maxTasks ? Math.min(free, this.backend.maxTasks - this.pulled) : free;
      let tasks: WireTask[];
      try {
        tasks = await store.pull({
          worker: this.worker.id,
          max,
          leaseMs: this.leaseMs,
          waitMs: this.backend.pollTimeout * 1000,
        });
        if (this.outage) {
          this.outage = false;
          this.log.info(`${this.worker.id} pulls tasks again`);
        }
      } catch (err) {
        if (!this.active) break;
        if (!this.outage) {
          this.outage = true;
          this.log.error(`${this.worker.id} cannot pull tasks, retrying: ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, Math.min(1000, this.backend.pollTimeout * 1000)));
        continue;
      }
      for (const wire of tasks) this.launch(wire);
    }
    if (this.exhausted) {
      await Promise.allSettled([...this.inflight.values()]);
      this.emit('idle');
    }
  }

  private launch(wire: WireTask): void {
    this.pulled += 1;
    this.running.add(wire.id);
    const run = this.execute(wire)
      .catch((err: unknown) => this.log.error(`task ${wire.name}(${wire.id}) could not be recorded: ${String(err)}`))
      .finally(() => {
        this.running.delete(wire.id);
        this.inflight.delete(wire.id);
        this.processed += 1;
        this.emit('processed', wire.id);
        const wake = this.slotWaiter;
        this.slotWaiter = null;
        wake?.();
      });
    this.inflight.set(wire.id, run);
  }

  private renew(): void {
    if (!this.running.size) return;
    this.backend.store
      .renew(this.worker.id, [...this.running], this.leaseMs)
      .catch((err: unknown) => this.log.debug(`lease renewal failed: ${String(err)}`));
  }

  /** Runs one pulled task in SPEC §5's order and records the outcome. */
  async execute(wire: WireTask): Promise<void> {
    const store = this.backend.store;
    const task = Task.fromWire(wire);
    const job = this.backend.registry.get(task.name);
    if (!job) {
      task.status = FAILURE;
      task.result = new TaskNotAvailable(task.name).message;
      task.timeEnded = DateTime.now();
      await store.finish(task.toWire(), this.worker.id);
      return;
    }
    // Checked again here: a producer may run other code, or none (a hand-written Redis client).
    const badKwargs = kwargsProblem(job.name, job.kwargsSchema ?? null, task.kwargs);
    if (badKwargs) {
      task.status = FAILURE;
      task.result = badKwargs;
      task.timeEnded = DateTime.now();
      this.log.warn(`${task.info()} not run: ${badKwargs}`);
      await store.finish(task.toWire(), this.worker.id);
      return;
    }
    if (task.expiry && DateTime.now() >= task.expiry) {
      task.status = REVOKED;
      task.result = 'expired before it started';
      task.timeEnded = DateTime.now();
      await store.finish(task.toWire(), this.worker.id);
      return;
    }
    task.status = STARTED;
    task.timeStarted = DateTime.now();
    task.worker = this.worker.id;
    // Pipelined: the job runs during start's round trip instead of after it. start is sent before
    // the job can make a store call of its own, and each store serves one caller's calls in order,
    // so the store still records STARTED (and broadcasts task_started) before anything the job
    // does; the outcome is saved only once start said this worker owns the task.
    const started = store.start(task.toWire(), this.worker.id);
    // Settles only when start failed: it ends the job's race early.
    const lost = new Promise<'lost'>((resolve) => {
      started.then(
        (owned) => owned || resolve('lost'),
        () => resolve('lost'),
      );
    });
    const status = await this.runJob(task, job, lost);
    if (!(await started)) return; // lease lost: someone else has it (a start error rejects here)
    if (status === RETRY) {
      const delay = task.retryDelay ? ` in ${secondsText(task.retryDelay)}` : '';
      this.log.warn(`${task.info()} failed (attempt ${task.retries} of ${task.maxRetries + 1}), retrying${delay}: ${String(task.result)}`);
      await store.retry(task.toWire(), this.worker.id);
      return;
    }
    task.timeEnded = DateTime.now();
    if (status === FAILURE) this.log.warn(`${task.info()} failed: ${String(task.result)}`);
    await store.finish(task.toWire(), this.worker.id);
  }

  /**
   * Runs the job; sets the task's status, result and stack; returns the status, or null when
   * `lost` says the task is not this worker's (its signal is aborted and nothing is waited for).
   */
  private async runJob(task: Task, job: Job, lost: Promise<'lost'>): Promise<TaskStatus | null> {
    const aborter = new AbortController();
    this.aborters.set(task.id, aborter);
    const consumer = new TaskConsumer(task, job, this.backend, this.worker, aborter.signal);
    let timer: NodeJS.Timeout | null = null;
    const timedOut = new Promise<'timeout'>((resolve) => {
      if (task.timeout !== null) timer = setTimeout(() => resolve('timeout'), task.timeout * 1000);
    });
    const work = Promise.resolve().then(() => job.run(consumer, structuredClone(task.kwargs)));
    try {
      const outcome = await Promise.race([work.then((value) => ({ value })), timedOut, lost]);
      if (outcome === 'lost') {
        aborter.abort(new Error('the task is not this worker\'s any more'));
        work.catch(() => undefined);
        return null;
      }
      if (outcome === 'timeout') {
        aborter.abort(new Error(`timed out after ${secondsText(task.timeout ?? 0)}`));
        task.status = REVOKED;
        task.result = `timed out after ${secondsText(task.timeout ?? 0)}`;
        this.watchStuck(task, work);
      } else {
        const result = toJsonResult(outcome.value);
        const problem = resultProblem(result, this.backend.limits.maxResultBytes);
        task.status = problem ? FAILURE : SUCCESS;
        task.result = problem ?? result;
      }
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      if (task.retries < task.maxRetries) {
        task.status = RETRY;
        task.retries += 1;
        task.result = clipText(error.message, this.backend.limits.maxResultBytes);
        task.stacktrace = error.stack ?? null;
        task.eta = DateTime.now().plus({ milliseconds: task.retryDelay * 1000 });
      } else {
        task.status = FAILURE;
        task.result = clipText(error.message, this.backend.limits.maxResultBytes);
        task.stacktrace = error.stack ?? String(error);
      }
    } finally {
      if (timer) clearTimeout(timer);
      this.aborters.delete(task.id);
    }
    return task.status;
  }

  /** A timed-out job that keeps running past the grace makes this worker "stuck". */
  private watchStuck(task: Task, work: Promise<unknown>): void {
    let settled = false;
    work.then(
      () => (settled = true),
      () => (settled = true),
    );
    const t = setTimeout(() => {
      if (!settled) {
        this.log.error(`${task.info()} ignored its abort signal for ${this.stuckGrace}s: worker is stuck`);
        this.emit('stuck', task.id);
      }
    }, this.stuckGrace * 1000);
    t.unref();
  }

  /**
   * Stops pulling; running tasks get `graceMs` to end, then their signals are aborted and the
   * worker's remaining tasks are handed back to the queue.
   */
  async stop(graceMs: number): Promise<void> {
    this.active = false;
    const wake = this.slotWaiter;
    this.slotWaiter = null;
    wake?.();
    if (this.renewTimer) clearInterval(this.renewTimer);
    const deadline = Date.now() + graceMs;
    // End a parked pull now; tasks a last pull still brings are launched and get the grace too.
    await this.backend.store.interrupt?.(this.worker.id).catch(() => undefined);
    await within(this.loopDone, Math.min(graceMs, this.backend.pollTimeout * 1000 + 1000));
    await within(Promise.allSettled([...this.inflight.values()]), Math.max(0, deadline - Date.now()));
    if (this.running.size) {
      this.log.warn(`${this.worker.id} stops with ${this.running.size} task(s) still running: handing them back`);
      for (const aborter of this.aborters.values()) aborter.abort(new Error('worker stopping'));
      await this.backend.store
        .recover({ nowMs: Date.now(), maxRedeliveries: this.backend.maxRedeliveries, worker: this.worker.id })
        .catch((err: unknown) => this.log.error(`could not hand tasks back: ${String(err)}`));
    }
  }
}

/** Waits for `promise`, at most `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
