/**
 * Waiting for tasks to be ready: one set of waiters per task id, woken by `task_done`
 * broadcasts, with a slow re-read as a safety net for a broadcast lost with a connection.
 */
import { BackendUnavailable, TaskTimeoutError } from '../model/errors.js';
import type { Task } from '../model/task.js';

/** The waiters of one backend. */
export class TaskWaiters {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** A `task_done` for `id` arrived: its waiters read the task again. */
  notify(id: string): void {
    this.waiters.get(id)?.forEach((fn) => fn());
  }

  /**
   * Resolves once `read(id)` gives a ready task (null if there is no such task); rejects
   * TaskTimeoutError after `timeout` seconds. The caller must already receive broadcasts, so no
   * completion between the first read and the next broadcast is missed.
   */
  wait(id: string, timeout: number | undefined | null, read: (id: string) => Promise<Task | null>, recheckMs: number): Promise<Task | null> {
    return new Promise<Task | null>((resolve, reject) => {
      let settled = false;
      let checking = false;
      let again = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(recheck);
        this.remove(id, check);
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
      this.add(id, check);
      const recheck = setInterval(check, recheckMs);
      recheck.unref();
      if (timeout !== undefined && timeout !== null) {
        timer = setTimeout(() => finish(() => reject(new TaskTimeoutError(id, Number(timeout)))), Math.max(0, Number(timeout) * 1000));
      }
      check();
    });
  }

  private add(id: string, fn: () => void): void {
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    set.add(fn);
  }

  private remove(id: string, fn: () => void): void {
    const set = this.waiters.get(id);
    if (set?.delete(fn) && set.size === 0) this.waiters.delete(id);
  }
}
