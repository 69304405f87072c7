/**
 * Helpers of the runtime specs: start an arbiter with one TaskQueue, wait for events.
 */
import { Arbiter } from '../../actors/arbiter.js';
import type { TaskBackend } from '../../src/producer/backend.js';
import type { TaskEvent } from '../../src/store/contract.js';
import { TaskQueue, type TaskQueueConfig } from '../../src/app/taskqueue.js';

export const MODES = ['process', 'thread', 'inline'] as const;
export const TASK_PATHS = ['jobs/*', 'spec/fixtures/runtime/*'];

/** An arbiter running one TaskQueue; stop it in an after hook. */
export async function startQueue(config: TaskQueueConfig): Promise<{ arbiter: Arbiter; tq: TaskQueue }> {
  const arbiter = new Arbiter({ handleSignals: false });
  const tq = arbiter.add(new TaskQueue({ taskPaths: TASK_PATHS, ...config }));
  await arbiter.start();
  return { arbiter, tq };
}

/** Resolves with the first task id of `event` that passes `accept`. */
export function nextEvent(backend: TaskBackend, event: TaskEvent, accept: (id: string) => boolean | Promise<boolean> = () => true): Promise<string> {
  return new Promise((resolve) => {
    const listener = (id: string) => {
      void Promise.resolve(accept(id)).then((ok) => {
        if (!ok) return;
        backend.off(event, listener);
        resolve(id);
      });
    };
    backend.on(event, listener);
  });
}

/** Polls `check` on an event-free condition (worker lists) until it holds; no fixed sleeps elsewhere. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True while a process with that pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
