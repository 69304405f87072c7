/**
 * Waiting for tasks to be ready: one set of waiters per task id, woken by `task_done`
 * broadcasts, with a slow re-read as a safety net for a broadcast lost with a connection. A
 * broadcast that hands the ready task (EventListener's `stored`) resolves its waiters without a read.
 */
import { BackendUnavailable, TaskTimeoutError } from '../model/errors.js';
import { Task, type WireTask } from '../model/task.js';
import { READY_STATES } from '../model/states.js';
import { Deadlines, type Deadline } from '../infra/deadlines.js';

/** One wait: `check` reads the task again; `ready` ends the wait with the task. */
interface Waiter {
  check(): void;
  ready(task: Task): void;
}

/** How many tracked ids one generation holds (two are kept: an older id is read as untracked). */
const TRACKED_PER_GENERATION = 4096;
/** The tracked state of an id whose `task_done` arrived (without the task). */
const DONE = -1;

/**
 * What is known of a tracked id: the subscription's epoch when it was queued, or that its
 * `task_done` arrived: DONE, or the task that broadcast handed while nobody waited yet.
 */
type Tracked = number | (() => WireTask | null);

/** The ready task `stored` gives for `id`, else null. */
function readyTask(id: string, stored: () => WireTask | null): Task | null {
  const wire = stored();
  return wire && wire.id === id && READY_STATES.has(wire.status) ? Task.fromWire(wire) : null;
}

/** The waiters of one backend. */
export class TaskWaiters {
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** Every wait's timeout and safety re-read, on one timer (infra/deadlines.ts). */
  private readonly deadlines = new Deadlines();
  /**
   * Ids queued here while the subscription was live, by the epoch it had then (DONE once their
   * `task_done` arrived): a wait for one still pending under the same epoch cannot have missed its
   * completion, and skips its first read. Two bounded generations; a forgotten id is read.
   */
  private tracked = new Map<string, Tracked>();
  private older = new Map<string, Tracked>();

  /** Every waiter reads its task again (the backend closed: their reads fail, and so do they). */
  recheckAll(): void {
    for (const set of [...this.waiters.values()]) set.forEach((w) => w.check());
  }

  /**
   * A `task_done` for `id` arrived: its waiters end with the task the broadcast handed (`stored`,
   * each waiter its own record), else read it again. With nobody waiting yet, a tracked id keeps
   * what the broadcast handed: a wait that starts later ends with it, no read.
   */
  notify(id: string, stored?: () => WireTask | null): void {
    const set = this.waiters.get(id);
    const done = !set && stored ? stored : DONE;
    if (this.tracked.has(id)) this.tracked.set(id, done);
    else if (this.older.has(id)) this.older.set(id, done);
    if (!set) return;
    for (const waiter of [...set]) {
      const task = stored ? readyTask(id, stored) : null;
      if (task) waiter.ready(task);
      else waiter.check();
    }
  }

  /**
   * Tasks about to be queued while the subscription is live under `epoch` (an id whose task_done
   * already arrived stays so: its wait reads first).
   */
  track(ids: readonly string[], epoch: number): void {
    for (const id of ids) {
      const known = this.tracked.get(id) ?? this.older.get(id);
      if (known === DONE || typeof known === 'function') continue;
      this.tracked.set(id, epoch);
      if (this.tracked.size >= TRACKED_PER_GENERATION) {
        this.older = this.tracked;
        this.tracked = new Map();
      }
    }
  }

  /** Tasks whose queueing failed: a wait for one reads first. */
  untrack(ids: readonly string[]): void {
    for (const id of ids) {
      this.tracked.delete(id);
      this.older.delete(id);
    }
  }

  /** What is known of `id` (see Tracked), forgotten now: a wait for it is starting. */
  private take(id: string): Tracked | undefined {
    const at = this.tracked.get(id) ?? this.older.get(id);
    if (at === undefined) return undefined;
    this.tracked.delete(id);
    this.older.delete(id);
    return at;
  }

  /**
   * Resolves once `read(id)` gives a ready task (null if there is no such task); rejects
   * TaskTimeoutError after `timeout` seconds. The caller must already receive broadcasts, so no
   * completion between the first read and the next broadcast is missed. `epoch`: the
   * subscription's now (SubscriptionEpoch), when the store has one; a task tracked under it whose
   * completion has not arrived is not read before its broadcast (or the safety re-read); one whose
   * broadcast already handed the task ends with it at once.
   */
  wait(
    id: string,
    timeout: number | undefined | null,
    read: (id: string) => Promise<Task | null>,
    recheckMs: number,
    epoch: number | null = null,
  ): Promise<Task | null> {
    const known = this.take(id);
    const early = typeof known === 'function' ? readyTask(id, known) : null;
    if (early) return Promise.resolve(early);
    // Queued under the subscription's current epoch, task_done not arrived: it cannot be missed.
    const firstRead = !(epoch !== null && known === epoch);
    return new Promise<Task | null>((resolve, reject) => {
      let settled = false;
      let checking = false;
      let again = false;
      let timer: Deadline | undefined;
      let recheck: Deadline | undefined;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        timer?.cancel();
        recheck?.cancel();
        this.remove(id, waiter);
        fn();
      };
      const check = () => {
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        read(id).then(
          (task) => {
            checking = false;
            if (!task) finish(() => resolve(null));
            else if (task.done()) finish(() => resolve(task));
            else if (again) {
              again = false;
              check();
            }
          },
          (err: unknown) => {
            checking = false;
            // During a store outage, even at the first read, the next re-read (or the wait's own
            // timeout) decides; other errors end the wait.
            if (!(err instanceof BackendUnavailable)) finish(() => reject(err));
          },
        );
      };
      const waiter: Waiter = { check, ready: (task) => finish(() => resolve(task)) };
      this.add(id, waiter);
      // The safety re-read, every recheckMs: it does not keep the process alive (an unref'd timer).
      const reread = () => {
        recheck = this.deadlines.add(recheckMs, reread, false);
        check();
      };
      recheck = this.deadlines.add(recheckMs, reread, false);
      if (timeout !== undefined && timeout !== null) {
        timer = this.deadlines.add(Math.max(0, Number(timeout) * 1000), () => finish(() => reject(new TaskTimeoutError(id, Number(timeout)))));
      }
      if (firstRead) check();
    });
  }

  private add(id: string, waiter: Waiter): void {
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    set.add(waiter);
  }

  private remove(id: string, waiter: Waiter): void {
    const set = this.waiters.get(id);
    if (set?.delete(waiter) && set.size === 0) this.waiters.delete(id);
  }
}
