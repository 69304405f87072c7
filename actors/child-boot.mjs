// Entry of every worker child, process or thread: loads the TypeScript entry, registering tsx
// first when the parent's loader does not carry over (always in worker threads; in a process
// forked from a parent that registered tsx through its API rather than --import).
import { isMainThread, workerData } from 'node:worker_threads';

const entry = isMainThread ? process.argv[2] : workerData?.entry;
const loaderActive = isMainThread && process.execArgv.some((arg) => arg.includes('tsx'));
if (entry.endsWith('.ts') && !loaderActive) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(entry);
