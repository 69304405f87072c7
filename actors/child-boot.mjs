// Entry of every worker child, process or thread: loads the worker entry. For the TypeScript
// entry (in the repository) it registers tsx first when the parent's loader does not carry over
// (always in worker threads; in a process forked from a parent that registered tsx through its
// API rather than --import). The compiled entry (dist/) runs without tsx: the registry registers
// it only if a job module is TypeScript.
import { isMainThread, workerData } from 'node:worker_threads';

const entry = isMainThread ? process.argv[2] : workerData?.entry;
const loaderActive = isMainThread && process.execArgv.some((arg) => arg.includes('tsx'));
if (entry.endsWith('.ts') && !loaderActive) {
  const { register } = await import('tsx/esm/api');
  register();
  globalThis[Symbol.for('pulsar-tasks.tsx')] = true;
}
await import(entry);
