/**
 * Writes about a delivered task (start, finish, retry) under its fence, riding out store outages
 * for as long as the delivery's lease may still hold: a result finished during an outage shorter
 * than the lease is saved once the store is back, and the task does not run again.
 */
import type { Logger } from '../infra/logger.js';
import { READY_STATES, RETRY } from '../model/states.js';
import type { WireTask } from '../model/task.js';
import type { TaskStore } from '../store/contract.js';

/** What the writer needs of a run. */
export interface FencedRun {
  readonly id: string;
  /** The current delivery's token: a re-delivery to this worker replaces it. */
  readonly token: number;
  /** Until when (this process's clock) the lease may still hold. */
  readonly leaseUntil: number;
  /** Handed back by a stopping worker: no more waiting. */
  readonly handedBack: boolean;
  /**
   * The answer to the run's start once it came (true: saved; false: refused, or it failed), null
   * before: set by whoever waits for the start (the worker runtime).
   */
  readonly startOwned?: boolean | null;
}

/** The fenced writes about a task: the store method and the record it is given. */
export type FencedWrite = 'start' | 'finish' | 'retry';

const FIRST_RETRY_MS = 100;
const DONE: Promise<void> = Promise.resolve();
const MAX_RETRY_MS = 1000;

/** The fenced writes of one worker. */
export class StoreWriter<R extends FencedRun = FencedRun> {
  constructor(
    private readonly store: TaskStore,
    private readonly worker: string,
    private readonly log: Logger,
    /** Told when a run's write was refused: the task is not this worker's any more. */
    private readonly lose: (run: R, reason: string) => void,
  ) {}

  /**
   * Writes a run's outcome (`method` of the store with `task`); a fenced-off write (the task was
   * delivered elsewhere) is reported, not retried. With `started` (the answer of the run's start),
   * the outcome goes without waiting for it: the store serves this worker's calls in order and
   * fences both by the same delivery, so the outcome is saved only if the start was (a start
   * refused names a delivery that is not current, and a token never becomes current again). A
   * refused start is what is reported then, whatever the outcome's answer. The start's answer is
   * read from the run when it came already (the common case: it was answered first), else waited for.
   */
  outcome(run: R, method: FencedWrite, task: WireTask, started?: Promise<boolean>): Promise<void> {
    if (run.handedBack) return DONE;
    // Promise reactions, no async frame: this runs once per task.
    const saving = this.write(run, method, task);
    if (!started) return saving.then((saved) => this.saved(run, saved));
    return saving.then(
      (saved) => {
        const owned = run.startOwned;
        if (owned === true) return this.saved(run, saved);
        if (owned === false) return this.refused(run);
        return started.then(
          (ok) => (ok ? this.saved(run, saved) : this.refused(run)),
          () => this.refused(run),
        );
      },
      (err: unknown) => {
        if (run.startOwned === false) return this.refused(run);
        return started.then(
          (ok) => {
            if (!ok) return this.refused(run);
            throw err;
          },
          () => this.refused(run),
        );
      },
    );
  }

  /** The outcome's answer: a refusal is reported. */
  private saved(run: R, saved: boolean): void {
    if (!saved && !run.handedBack) this.lose(run, 'its outcome was fenced off (another delivery owns the task)');
  }

  /** The run's start was refused: that is what is reported, whatever the outcome's answer. */
  private refused(run: R): void {
    if (!run.handedBack) this.lose(run, 'its start was refused');
  }

  /**
   * Runs `op` under the run's current fence; resolves to its answer. A write that throws is tried
   * again until the lease runs out (then the error is thrown). A write refused because the task
   * was delivered to this same worker again meanwhile is sent again under the new token.
   */
  write(run: FencedRun, method: FencedWrite, task: WireTask): Promise<boolean> {
    // The common case, one write that is answered, without the retry loop's machinery (and no
    // closure for the write itself: the method's name and the record are enough).
    const token = run.token;
    let first: Promise<boolean>;
    try {
      first = this.store[method](task, { worker: this.worker, token });
    } catch (err) {
      first = Promise.reject(err);
    }
    return first.then(
      (saved) => (saved || run.token === token ? saved : this.retrying(run, method, task, null)),
      (err: unknown) => this.retrying(run, method, task, err),
    );
  }

  /**
   * The write again (`error`: what the first attempt threw, null when it was refused under a
   * token that has changed since).
   */
  private async retrying(run: FencedRun, method: FencedWrite, task: WireTask, error: unknown): Promise<boolean> {
    let wait = FIRST_RETRY_MS;
    let failed = false;
    if (error !== null) {
      const left = run.leaseUntil - Date.now();
      if (run.handedBack || left <= 0) throw error;
      this.log.warn(`task ${run.id}: cannot write to the store (${String(error)}); retrying while its lease lasts (${Math.ceil(left / 1000)}s)`);
      failed = true;
      await new Promise((r) => setTimeout(r, Math.min(wait, left)));
      wait = Math.min(wait * 2, MAX_RETRY_MS);
    }
    for (;;) {
      const token = run.token;
      try {
        const saved = await this.store[method](task, { worker: this.worker, token });
        if (failed) this.log.info(`task ${run.id}: saved once the store answered again`);
        if (saved) return true;
        if (run.token !== token) continue;
        // After a write whose reply was lost, a refusal may only mean the first one landed.
        return failed ? this.landedEarlier(run.id) : false;
      } catch (err) {
        const left = run.leaseUntil - Date.now();
        if (run.handedBack || left <= 0) throw err;
        if (!failed) this.log.warn(`task ${run.id}: cannot write to the store (${String(err)}); retrying while its lease lasts (${Math.ceil(left / 1000)}s)`);
        failed = true;
        await new Promise((r) => setTimeout(r, Math.min(wait, left)));
        wait = Math.min(wait * 2, MAX_RETRY_MS);
      }
    }
  }

  /** True when the task's stored state says this worker's earlier write was saved. */
  private async landedEarlier(id: string): Promise<boolean> {
    try {
      const [task] = await this.store.get([id]);
      return !!task && task.worker === this.worker && (READY_STATES.has(task.status) || task.status === RETRY);
    } catch {
      return false;
    }
  }
}
