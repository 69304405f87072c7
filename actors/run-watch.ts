/**
 * Timeouts enforced from outside the job: the Worker actor (the parent side of a process or thread
 * worker) keeps a timer per run with a timeout, fed by the child's `run` and `settled` notes. A run
 * still going at `timeout + stuckGrace` is overdue: the parent kills the child, even when its event
 * loop is blocked, and writes the task's REVOKED outcome itself with the run's fence.
 */
import { timeoutMessage, type TaskStore } from '../src/store/contract.js';
import { READY_STATES, REVOKED } from '../src/model/states.js';

/** A run a child reported: what the parent needs to time it and to fence its outcome. */
export interface WatchedRun {
  id: string;
  name: string;
  token: number;
  /** When the job started (ms; the child runs on this machine, so on this clock). */
  startedAtMs: number;
  /** The task's timeout in ms, or null for none. */
  timeoutMs: number | null;
}

/** One timer per run with a timeout; `onOverdue` is called once per run still going past its grace. */
export class RunWatch {
  private readonly timers = new Map<string, { run: WatchedRun; dueMs: number; timer: NodeJS.Timeout }>();

  constructor(
    private readonly graceMs: number,
    private readonly onOverdue: (run: WatchedRun) => void,
  ) {}

  /** A job started: arm its timer when it has a timeout. */
  started(run: WatchedRun): void {
    if (run.timeoutMs === null) return;
    const key = keyOf(run.id, run.token);
    const dueMs = run.startedAtMs + run.timeoutMs + this.graceMs;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.onOverdue(run);
    }, Math.max(0, dueMs - Date.now()));
    this.timers.set(key, { run, dueMs, timer });
  }

  /** The runs still timed whose grace ran out by `nowMs` (a killed worker's other overdue runs). */
  overdue(nowMs: number = Date.now()): WatchedRun[] {
    return [...this.timers.values()].filter((t) => t.dueMs <= nowMs).map((t) => t.run);
  }

  /** A run is over (its outcome written, or given up). */
  settled(id: string, token: number): void {
    const key = keyOf(id, token);
    clearTimeout(this.timers.get(key)?.timer);
    this.timers.delete(key);
  }

  /** Forgets every run (the child is gone). */
  clear(): void {
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** Runs being timed. */
  get size(): number {
    return this.timers.size;
  }
}

function keyOf(id: string, token: number): string {
  return `${id}#${token}`;
}

/**
 * Writes REVOKED (timed out) for an overdue run whose worker was killed, with the run's fence:
 * nothing changes when the task already ended or was delivered elsewhere. Resolves to true when
 * the outcome was written.
 */
export async function revokeOverdue(store: TaskStore, worker: string, run: WatchedRun): Promise<boolean> {
  const [task] = await store.get([run.id]);
  if (!task || READY_STATES.has(task.status)) return false;
  const endedMs = await store.now();
  const seconds = (run.timeoutMs ?? 0) / 1000;
  return store.finish({ ...task, status: REVOKED, result: timeoutMessage(seconds), stacktrace: null, time_ended: endedMs / 1000 }, { worker, token: run.token });
}
