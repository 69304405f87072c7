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
   * before: set by the writer's `start`.
   */
  startOwned?: boolean | null;
  /** What waits for the start's answer (an outcome answered first): called once it came. */
  afterStart?: (() => void) | null;
}

/** The fenced writes about a task: the store method and the record it is given. */
export type FencedWrite = 'start' | 'finish' | 'retry';

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 1000;

/**
 * What the writer tells its owner, besides a refusal (`lose`): a run's start was answered
 * (`owned`: saved), and a run's outcome was recorded (`error`: why it could not be, else null).
 */
export interface WriterHooks<R> {
  started(run: R, owned: boolean): void;
  recorded(run: R, error: unknown): void;
}

/**
 * The fenced writes of one worker. A run's start and outcome take one promise reaction each (the
 * store call's), no chain of them: the answers go to the owner's hooks.
 */
export class StoreWriter<R extends FencedRun = FencedRun> {
  constructor(
    private readonly store: TaskStore,
    private readonly worker: string,
    private readonly log: Logger,
    /** Told when a run's write was refused: the task is not this worker's any more. */
    private readonly lose: (run: R, reason: string) => void,
    private readonly hooks: WriterHooks<R>,
  ) {}

  /** The store call `method` of `task` under the run's fence now (a throw becomes a rejection). */
  private send(run: R, method: FencedWrite, task: WireTask): Promise<boolean> {
    try {
      return this.store[method](task, { worker: this.worker, token: run.token });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Writes a run's start: its answer is kept on the run (`startOwned`) and told to `hooks.started`
   * (a start that failed even after retries counts as refused), then to what waited for it.
   */
  start(run: R, task: WireTask): void {
    const token = run.token;
    this.send(run, 'start', task).then(
      (saved) => {
        if (saved || run.token === token) this.startAnswered(run, saved);
        else this.retrying(run, 'start', task, null).then((ok) => this.startAnswered(run, ok), () => this.startAnswered(run, false));
      },
      (err: unknown) => this.retrying(run, 'start', task, err).then((ok) => this.startAnswered(run, ok), () => this.startAnswered(run, false)),
    );
  }

  private startAnswered(run: R, owned: boolean): void {
    run.startOwned = owned;
    this.hooks.started(run, owned);
    const after = run.afterStart;
    run.afterStart = null;
    after?.();
  }

  /**
   * Writes a run's outcome (`method` of the store with `task`); a fenced-off write (the task was
   * delivered elsewhere) is reported, not retried; `hooks.recorded` is told once it is answered.
   * With `afterStart` (the run's start was written), the outcome goes without waiting for the
   * start's answer: the store serves this worker's calls in order and fences both by the same
   * delivery, so the outcome is saved only if the start was (a start refused names a delivery that
   * is not current, and a token never becomes current again). A refused start is what is reported
   * then, whatever the outcome's answer. The start's answer is read from the run when it came
   * already (the common case: it was answered first), else waited for.
   */
  outcome(run: R, method: FencedWrite, task: WireTask, afterStart: boolean): void {
    if (run.handedBack) return this.hooks.recorded(run, null);
    const token = run.token;
    this.send(run, method, task).then(
      (saved) => {
        if (saved || run.token === token) this.outcomeAnswered(run, saved, null, afterStart);
        else this.retryOutcome(run, method, task, null, afterStart);
      },
      (err: unknown) => this.retryOutcome(run, method, task, err, afterStart),
    );
  }

  private retryOutcome(run: R, method: FencedWrite, task: WireTask, error: unknown, afterStart: boolean): void {
    this.retrying(run, method, task, error).then(
      (saved) => this.outcomeAnswered(run, saved, null, afterStart),
      (err: unknown) => this.outcomeAnswered(run, false, err ?? new Error(`the ${method} of ${run.id} failed`), afterStart),
    );
  }

  /** The outcome's answer (`error`: it failed), read with the start's once that came. */
  private outcomeAnswered(run: R, saved: boolean, error: unknown, afterStart: boolean): void {
    const owned = afterStart ? run.startOwned : true;
    if (owned === null || owned === undefined) {
      run.afterStart = () => this.outcomeAnswered(run, saved, error, afterStart);
      return;
    }
    if (!owned) {
      // The run's start was refused: that is what is reported, whatever the outcome's answer.
      if (!run.handedBack) this.lose(run, 'its start was refused');
    } else if (error === null && !saved && !run.handedBack) {
      this.lose(run, 'its outcome was fenced off (another delivery owns the task)');
    }
    this.hooks.recorded(run, owned ? error : null);
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
    return this.send(run as R, method, task).then(
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
