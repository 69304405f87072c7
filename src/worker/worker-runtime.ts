/**
 * WorkerRuntime: the worker side of a backend. Pulls as many tasks as it has free slots, runs
 * them in SPEC §5's order, renews their leases, and stops gracefully. Every write about a task
 * carries the fencing token of its delivery (store contract v2): a run whose task was delivered
 * elsewhere meanwhile changes nothing, and is told (`task_lost`).
 */
import { kwargsProblem } from '../job/kwargs-schema.js';
import { EventEmitter } from 'node:events';
import { TaskNotAvailable } from '../model/errors.js';
import type { TaskBackend } from '../producer/backend.js';
import { TaskConsumer, type WorkerInfo } from './consumer.js';
import { getLogger } from '../infra/logger.js';
import { FAILURE, RETRY, STARTED, type TaskStatus } from '../model/states.js';
import type { WireTask } from '../model/task.js';
import type { Delivery, Fence } from '../store/contract.js';
import { JobRun, type RunJobOptions } from './run-job.js';
import { outcomeLine, outcomeOf, runOptions, settled, whenSettled, within, type ActiveRun, type RunInfo, type RuntimeOptions } from './run-state.js';
import { LeaseRenewer } from './lease-renewer.js';
import { StoreWriter } from './store-writer.js';

export type { ActiveRun, RunInfo, RuntimeOptions } from './run-state.js';

/**
 * Events: `idle` (maxTasks reached and nothing running), `processed` (id), `run` (RunInfo),
 * `settled` (id, token), `task_lost` (id, token, reason), `stuck` (id).
 */
export class WorkerRuntime extends EventEmitter {
  /** Tasks run to their end here. */
  processed = 0;
  /** Writes fenced off or renewals refused: tasks this worker lost to another delivery. */
  lost = 0;
  private readonly runs = new Map<string, ActiveRun>();
  private pulled = 0;
  /** Runs whose job has not ended: what takes a slot (a run writing its outcome does not). */
  private busy = 0;
  private wakeScheduled = false;
  private active = false;
  private stopping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private slotWaiter: (() => void) | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private outage = false;
  private readonly renewer: LeaseRenewer;
  private readonly log;
  private readonly stuckGrace: number;
  private readonly writer: StoreWriter<ActiveRun>;
  /** What every JobRun of this worker is given. */
  private readonly runOptions: RunJobOptions;

  constructor(
    readonly backend: TaskBackend,
    readonly worker: WorkerInfo,
    options: Partial<RuntimeOptions> = {},
  ) {
    super();
    this.stuckGrace = options.stuckGrace ?? 5;
    this.log = getLogger(`pulsar.${backend.name}.worker`);
    this.writer = new StoreWriter<ActiveRun>(backend.store, worker.id, this.log, (run, reason) => this.lose(run, reason), {
      started: (run, owned) => {
        if (!owned) run.job?.lost();
      },
      recorded: (run, error) => (error === null ? this.settle(run) : this.unrecorded(run, error)),
    });
    this.runOptions = runOptions(this.stuckGrace, () => backend.limits.maxResultBytes, (task) => {
      this.log.error(`task.${task.name}(${task.id}) ignored its abort signal for ${this.stuckGrace}s after its timeout: the run is stuck`);
      this.emit('stuck', task.id);
    });
    this.renewer = new LeaseRenewer(backend.store, worker.id, this.log, this.runs, (run, reason) => this.lose(run, reason));
  }

  private get leaseMs(): number {
    return this.backend.leaseTimeout * 1000;
  }

  /** Ids of the tasks running here. */
  get running(): ReadonlySet<string> {
    return new Set(this.runs.keys());
  }

  /** How many tasks run here. */
  get numRunning(): number {
    return this.runs.size;
  }

  /** Starts the pull loop and the lease renewal. */
  start(): void {
    if (this.active) return;
    this.active = true;
    this.loopDone = this.loop();
    this.renewTimer = setInterval(() => this.renewer.renew(this.leaseMs), Math.max(100, this.leaseMs / 3));
    this.renewTimer.unref();
  }

  /** True when maxTasks is reached: no more pulling. */
  get exhausted(): boolean {
    return this.backend.maxTasks > 0 && this.pulled >= this.backend.maxTasks;
  }

  private async loop(): Promise<void> {
    const store = this.backend.store;
    while (this.active && !this.exhausted) {
      // Runs still writing their outcome take no slot, but at most a backlog of them is kept
      // waiting (a store that answers pulls but not outcomes does not make the runs pile up).
      const free = Math.min(this.backend.backlog - this.busy, 2 * this.backend.backlog - this.runs.size);
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotWaiter = resolve));
        continue;
      }
      const max = this.backend.maxTasks ? Math.min(free, this.backend.maxTasks - this.pulled) : free;
      let deliveries: Delivery[];
      try {
        deliveries = await store.pull({ worker: this.worker.id, max, leaseMs: this.leaseMs, waitMs: this.backend.pollTimeout * 1000 });
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
      for (const delivery of deliveries) this.launch(delivery);
    }
    if (this.exhausted) {
      await Promise.allSettled(this.settling());
      this.emit('idle');
    }
  }

  private launch(delivery: Delivery): void {
    const { task: wire, token } = delivery;
    const leaseUntil = Date.now() + this.leaseMs;
    const current = this.runs.get(wire.id);
    if (current?.jobDone) {
      // Its job is over and its outcome on the way (a retry landed and the task came straight
      // back, or the outcome will be fenced off): the new delivery runs once that run settled.
      void whenSettled(current).then(() => {
        if (!this.stopping) this.launch(delivery);
      });
      return;
    }
    if (current) {
      // The same task delivered again to the worker that still runs it (its lease was recovered
      // while the job ran): the run adopts the new delivery instead of running the job twice.
      this.log.warn(`${wire.name}(${wire.id}) was delivered again while it still runs here: the run keeps going under the new delivery`);
      current.token = token;
      current.lost = false;
      current.leaseUntil = leaseUntil;
      void this.writer.write(current, 'start', { ...wire, status: STARTED, worker: this.worker.id });
      return;
    }
    this.pulled += 1;
    this.busy += 1;
    const run: ActiveRun = { id: wire.id, name: wire.name, token, lost: false, handedBack: false, jobDone: false, job: null, leaseUntil, runToken: token, startOwned: null, afterStart: null, done: null, settled: null };
    this.runs.set(wire.id, run);
    this.execute(wire, run);
  }

  private unrecorded(run: ActiveRun, err: unknown): void {
    this.log.error(`task ${run.name}(${run.id}) could not be recorded: ${String(err)}`);
    this.settle(run);
  }

  /** The run is over and its outcome recorded (or it could not be). */
  private settle(run: ActiveRun): void {
    this.jobEnded(run);
    this.runs.delete(run.id);
    this.wakeLoop();
    this.processed += 1;
    this.emit('settled', run.id, run.runToken);
    this.emit('processed', run.id);
    settled(run);
    // Nothing reaches the run's job from here on: let it go (see JobRun.end).
    run.job = null;
  }

  /** The ends of the runs in this worker. */
  private settling(): Promise<void>[] {
    const ends: Promise<void>[] = [];
    for (const run of this.runs.values()) ends.push(whenSettled(run));
    return ends;
  }

  /**
   * The run's job is over (its outcome may still be on its way): its slot is free. The pull loop
   * wakes from a setImmediate, once every job that ended in this turn gave its slot back and wrote
   * its outcome: one pull for all of them, sent right behind those writes instead of after their
   * answers (a store serves one caller's calls in order).
   */
  private jobEnded(run: ActiveRun): void {
    if (run.jobDone) return;
    run.jobDone = true;
    this.busy -= 1;
    this.wakeLoop();
  }

  /** Wakes the pull loop waiting for a slot, from a setImmediate (once per turn). */
  private wakeLoop(): void {
    if (this.wakeScheduled || !this.slotWaiter) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      const wake = this.slotWaiter;
      this.slotWaiter = null;
      wake?.();
    });
  }

  /** Marks a run as lost to another delivery: its job's signal is aborted, the loss reported. */
  private lose(run: ActiveRun, reason: string): void {
    if (run.lost || run.handedBack) return;
    run.lost = true;
    this.lost += 1;
    run.job?.abort(new Error(`the task is not this worker's any more: ${reason}`));
    this.log.warn(`task ${run.id} lost by ${this.worker.id}: ${reason}; its outcome here is not saved`);
    this.emit('task_lost', run.id, run.token, reason);
  }

  /**
   * Runs one delivered task in SPEC §5's order and records the outcome under its fence. The task
   * is carried as a plain wire record with epoch times (no Task, no DateTime, unless the job reads
   * `consumer.task`); every write hands the store a fresh record it may keep. No async frame: the
   * run goes on from the callback its JobRun calls once the job is over.
   */
  private execute(wire: WireTask, run: ActiveRun): void {
    // The pulled object may be the store's: never changed here.
    const job = this.backend.registry.get(wire.name);
    if (!job) {
      this.jobEnded(run);
      const ended: WireTask = { ...wire, status: FAILURE, result: new TaskNotAvailable(wire.name).message, time_ended: Date.now() / 1000 };
      return this.writer.outcome(run, 'finish', ended, false);
    }
    // Checked again here: a producer may run other code, or none (a hand-written Redis client).
    const badKwargs = kwargsProblem(job.name, job.kwargsSchema ?? null, wire.kwargs);
    if (badKwargs) {
      const ended: WireTask = { ...wire, status: FAILURE, result: badKwargs, time_ended: Date.now() / 1000 };
      this.jobEnded(run);
      this.log.warn(`task.${wire.name}(${wire.id}) not run: ${badKwargs}`);
      return this.writer.outcome(run, 'finish', ended, false);
    }
    const startedAtMs = Date.now();
    // The runtime's own record of the run: the job's outcome is written into it, and it is what
    // the run hands the store at its end (the store may keep it). The store keeps a copy as started.
    const task: WireTask = { ...wire, status: STARTED, time_started: startedAtMs / 1000, worker: this.worker.id };
    // Pipelined: the job runs during start's round trip instead of after it. start is sent before
    // the job can make a store call of its own, and each store serves one caller's calls in order,
    // so the store records STARTED (and broadcasts task_started) before anything the job does; the
    // outcome is saved only once start said this delivery owns the task (its answer, kept on the
    // run, is read by the outcome's; a refused one ends the job's run: writer hook `started`).
    this.writer.start(run, { ...task });
    run.runToken = run.token;
    if (this.listenerCount('run')) {
      this.emit('run', { id: task.id, name: task.name, token: run.token, startedAtMs, timeoutMs: task.timeout === null ? null : task.timeout * 1000 } satisfies RunInfo);
    }
    const jobRun = new JobRun(task, job, this.runOptions, (status) => {
      try {
        this.ended(run, task, consumer, status);
      } catch (err) {
        this.unrecorded(run, err);
      }
    });
    const consumer = new TaskConsumer(task, job, this.backend, this.worker, jobRun, (): Fence => ({ worker: this.worker.id, token: run.token }));
    run.job = jobRun;
    jobRun.start(consumer);
  }

  /**
   * A run's job is over (`status`; null: its delivery was lost first): its outcome is written, and
   * the run settles once it is answered (writer hook `recorded`), or now when nothing is written.
   */
  private ended(run: ActiveRun, task: WireTask, consumer: TaskConsumer, status: TaskStatus | null): void {
    this.jobEnded(run);
    // From here on the record is not the consumer's to change (a late progress call).
    consumer.end();
    if (status === null) {
      if (!run.handedBack) this.lose(run, 'its start was refused');
      return this.settle(run);
    }
    if (run.handedBack) return this.settle(run);
    const outcome = outcomeOf(task, consumer, status);
    const line = outcomeLine(task, status);
    if (line) this.log.warn(line);
    this.writer.outcome(run, status === RETRY ? 'retry' : 'finish', outcome, true);
  }

  /**
   * Stops pulling; running tasks get `graceMs` to end, then their signals are aborted and every
   * task this worker still holds is handed back to the queue, nothing counted.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.active = false;
    const wake = this.slotWaiter;
    this.slotWaiter = null;
    wake?.();
    const deadline = Date.now() + graceMs;
    // End a parked pull now; tasks a last pull still brings are launched and get the grace too.
    await this.backend.store.interrupt?.(this.worker.id).catch(() => undefined);
    await within(this.loopDone, Math.min(graceMs, this.backend.pollTimeout * 1000 + 1000));
    await within(Promise.allSettled(this.settling()), Math.max(0, deadline - Date.now()));
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.runs.size) {
      this.log.warn(`${this.worker.id} stops with ${this.runs.size} task(s) still running: handing them back`);
      for (const run of this.runs.values()) {
        run.handedBack = true;
        run.job?.abort(new Error('worker stopping'));
      }
    }
    // Also what a last pull took after the loop ended: everything this worker still holds.
    await this.backend.store
      .release(this.worker.id)
      .catch((err: unknown) => this.log.error(`could not hand tasks back: ${String(err)}`));
  }
}

/** Starts pulling and running tasks of `backend` as `worker`; the backend's `close()` stops it. */
export function startWorker(backend: TaskBackend, worker: WorkerInfo, options: Partial<RuntimeOptions> = {}): WorkerRuntime {
  const runtime = new WorkerRuntime(backend, worker, options);
  backend.attachWorker(runtime);
  runtime.start();
  return runtime;
}
