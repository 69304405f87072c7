/**
 * TypeScript job modules need a loader: tsx is registered the first time one is imported, and
 * only then. The compiled package (dist/) runs without it, so a command or a worker whose jobs
 * are JavaScript never pays for it.
 */
import { isMainThread } from 'node:worker_threads';

/** Set on globalThis by whoever registered tsx in this thread (bin/pulsar-tasks.js, child-boot). */
const REGISTERED = Symbol.for('pulsar-tasks.tsx');

/** True when `file` is a TypeScript module. */
export function isTypeScriptModule(file: string): boolean {
  return /\.[cm]?ts$/.test(file);
}

/** True when this thread can already import TypeScript. */
function loaderActive(): boolean {
  if ((globalThis as Record<symbol, unknown>)[REGISTERED]) return true;
  // This very module running as .ts means a loader is there; --import tsx reaches the main thread only.
  if (import.meta.url.endsWith('.ts')) return true;
  return isMainThread && process.execArgv.some((arg) => arg.includes('tsx'));
}

/** Registers tsx before `file` is imported, when it is TypeScript and no loader is active yet. */
export async function ensureLoaderFor(file: string): Promise<void> {
  if (!isTypeScriptModule(file) || loaderActive()) return;
  const { register } = await import('tsx/esm/api');
  register();
  (globalThis as Record<symbol, unknown>)[REGISTERED] = true;
}
