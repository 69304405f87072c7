/**
 * createBackend: a TaskBackend for a producer that runs no workers (a web server, a script).
 */
import { TaskBackend } from './backend.js';
import '../backends/index.js';
import { createStore, parseBackendUrl, withShards } from '../store/schemes.js';
import { ImproperlyConfigured } from '../model/errors.js';
import type { JobClass } from '../job/job.js';
import { JobRegistry } from '../job/registry.js';

export interface ProducerOptions {
  /** The application's name (the TaskQueue's `name`). */
  name?: string;
  /** Job modules, to validate job names and kwargs before queueing. */
  taskPaths?: string[];
  /** Job classes given directly. */
  jobs?: JobClass[];
  /** Working directory of relative task paths. */
  cwd?: string;
  /** Hash tags the queue is spread over (as the TaskQueue's `shards`; default the URL's, else 1). */
  shards?: number;
}

/**
 * Opens a backend on a shared store (`redis://...` or a custom scheme) to queue, read, wait and
 * listen. `close()` releases its connections. `local://` lives in its arbiter and cannot be
 * opened here: use `taskQueue.backend`, actor messages, or JSON-RPC.
 */
export async function createBackend(url: string, options: ProducerOptions = {}): Promise<TaskBackend> {
  url = withShards(url, options.shards);
  const { scheme, pollTimeout } = parseBackendUrl(url);
  if (scheme === 'local') {
    throw new ImproperlyConfigured(
      'local:// lives inside its arbiter: queue through taskQueue.backend, the monitor\'s actor messages, or JSON-RPC',
    );
  }
  const name = options.name ?? 'taskqueue';
  const registry = await JobRegistry.load(options.taskPaths ?? [], { cwd: options.cwd });
  JobRegistry.fromClasses(options.jobs ?? [], registry);
  if (!registry.size) throw new ImproperlyConfigured('createBackend needs taskPaths or jobs: job names are checked before queueing');
  return new TaskBackend(createStore(url, { name }), { name, url, registry, pollTimeout });
}
