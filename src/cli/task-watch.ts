/**
 * `queue --wait`: follows a task until it is ready, showing its state and progress as it goes.
 * On a terminal one line is redrawn in place (a progress bar); elsewhere (a pipe, a log file)
 * a plain line is written each time the state or progress changes.
 */
import type { Json } from '../model/json.js';
import { RpcError, type RpcClient } from '../rpc/client.js';
import type { Task } from '../model/task.js';
import { CliError } from './values.js';

/** Where the live view is written (stderr: stdout keeps the final task's JSON). */
export interface WatchStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** Seconds between two looks at a running task. */
const POLL_SECONDS = 0.25;
const BAR_WIDTH = 24;

/**
 * Waits for task `id` (at most `timeout` seconds, else forever) and resolves to it once ready;
 * rejects TaskTimeoutError (an RpcError) past the timeout.
 */
export async function watchTask(client: RpcClient, id: string, timeout: number | undefined, stream: WatchStream): Promise<Task> {
  const deadline = timeout === undefined ? Infinity : Date.now() + timeout * 1000;
  const view = new LiveView(id, stream);
  try {
    for (;;) {
      const left = (deadline - Date.now()) / 1000;
      try {
        const task = await client.waitForTask(id, Math.max(0, Math.min(POLL_SECONDS, left)));
        if (!task) throw new CliError(`task ${id} disappeared while waiting for it`);
        view.show(task);
        return task;
      } catch (err) {
        if (!(err instanceof RpcError && err.type === 'TaskTimeoutError')) throw err;
        if (Date.now() >= deadline) {
          throw new RpcError(err.code, `Task ${id} was not ready after ${timeout} seconds`, { type: 'TaskTimeoutError', task_id: id, timeout: timeout ?? null });
        }
      }
      const task = await client.getTask(id);
      if (!task) throw new CliError(`task ${id} disappeared while waiting for it`);
      view.show(task);
    }
  } finally {
    view.end();
  }
}

/** The live line (TTY) or the change log (plain) of one task. */
export class LiveView {
  private last = '';
  private drawn = false;

  constructor(
    private readonly id: string,
    private readonly stream: WatchStream,
  ) {}

  /** Shows the task's state and progress if they changed. */
  show(task: Task): void {
    const fraction = progressFraction(task.meta.progress);
    const state = task.statusString();
    if (this.stream.isTTY) {
      const tail = fraction === null ? progressText(task.meta.progress) : `${bar(fraction)} ${Math.floor(fraction * 100)}%`;
      const line = `${this.id} ${state.padEnd(7)} ${tail}`.trimEnd();
      if (line === this.last) return;
      this.last = line;
      const width = Math.max(20, (this.stream.columns ?? 80) - 1);
      this.stream.write(`\r\x1b[2K${line.slice(0, width)}`);
      this.drawn = true;
      return;
    }
    const progress = task.meta.progress === undefined ? '' : ` progress ${fraction === null ? progressText(task.meta.progress) : `${Math.floor(fraction * 100)}%`}`;
    const line = `task ${this.id} ${state}${progress}`;
    if (line === this.last) return;
    this.last = line;
    this.stream.write(`${line}\n`);
  }

  /** Ends the live line, so what follows starts on a line of its own. */
  end(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}

/**
 * A progress value as a fraction in [0, 1], or null when it is not one: a number in [0, 1], a
 * percentage in (1, 100], or `{current|done|value, total}`.
 */
export function progressFraction(value: Json | undefined): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (value >= 0 && value <= 1) return value;
    if (value > 1 && value <= 100) return value / 100;
    return null;
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const total = value.total;
    const done = value.current ?? value.done ?? value.value;
    if (typeof total === 'number' && total > 0 && typeof done === 'number' && done >= 0) return Math.min(1, done / total);
  }
  return null;
}

function progressText(value: Json | undefined): string {
  if (value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function bar(fraction: number): string {
  const full = Math.round(fraction * BAR_WIDTH);
  return `[${'#'.repeat(full)}${'-'.repeat(BAR_WIDTH - full)}]`;
}
