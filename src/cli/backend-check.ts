/**
 * `serve` checks its task backend before it starts anything: a wrong URL, an unreachable Redis
 * or a database out of range is one clear line and exit status 1, instead of an arbiter that
 * says "up" and fails every request. With `--wait-for-backend` it waits, saying so once.
 */
import type { Logger } from '../infra/logger.js';
import { redactUrl } from '../infra/secrets.js';
import { createStore, parseBackendUrl } from '../store/schemes.js';
import { CliError, oneLine } from './values.js';

/** Options of checkBackend. */
export interface BackendCheckOptions {
  /** Wait until the backend answers instead of failing. */
  wait: boolean;
  log: Logger;
  /** Milliseconds between attempts while waiting (default 1000, growing to 5000). */
  retryMs?: number;
}

/** Resolves once the backend of `url` answers; throws CliError (one line) when it does not. */
export async function checkBackend(url: string, name: string, options: BackendCheckOptions): Promise<void> {
  if (parseBackendUrl(url).scheme === 'local') return;
  let delay = options.retryMs ?? 1000;
  let waiting = false;
  for (;;) {
    const problem = await probe(url, name);
    if (problem === null) {
      if (waiting) options.log.info(`task backend ${redactUrl(url)} answers: starting`);
      return;
    }
    if (!options.wait) {
      throw new CliError(`${problem} (check --task-backend, or pass --wait-for-backend to wait for it)`);
    }
    if (!waiting) options.log.warn(`waiting for the task backend (--wait-for-backend): ${problem}`);
    waiting = true;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 5000);
  }
}

/** Why the backend does not answer a cheap read, or null when it does. */
async function probe(url: string, name: string): Promise<string | null> {
  let store;
  try {
    store = createStore(url, { name });
  } catch (err) {
    return oneLine(err);
  }
  try {
    await store.numQueued();
    return null;
  } catch (err) {
    return oneLine(err);
  } finally {
    await store.close().catch(() => undefined);
  }
}
