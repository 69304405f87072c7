/**
 * Child processes of the specs: an arbiter in its own process (spec/fixtures/processes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { TaskQueueConfig } from '../../src/app/taskqueue.js';

const ARBITER_MAIN = new URL('../fixtures/processes/arbiter-main.ts', import.meta.url).pathname;

/** A running arbiter process. */
export interface ArbiterProcess {
  child: ChildProcess;
  /** Resolves once the process exited. */
  exited: Promise<void>;
  /** SIGTERM (graceful) and wait. */
  stop(): Promise<void>;
}

/** Starts an arbiter process with one TaskQueue; resolves once it printed READY. */
export function startArbiterProcess(config: TaskQueueConfig): Promise<ArbiterProcess> {
  const child = spawn(process.execPath, [...process.execArgv, ARBITER_MAIN, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('READY')) resolve({ child, exited, stop });
    });
    void exited.then(() => reject(new Error(`arbiter process exited before it was ready: ${out}`)));
  });
}
