/**
 * Forks worker fixtures (real files in bench/fixtures/) with this process's execArgv, so the tsx
 * loader carries over, and stops them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { FixtureConfig, FromFixture, ToFixture } from './fixture-protocol.js';

/** A running worker fixture. */
export interface FixtureProcess {
  pid: number;
  /** Asks it to close its queue and exit; kills it after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Forks `bench/fixtures/<file>` and resolves once it reports ready. */
export function startFixture(file: string, config: FixtureConfig, timeoutMs = 20_000): Promise<FixtureProcess> {
  const url = new URL(`../fixtures/${file}`, import.meta.url);
  const child = fork(url, [JSON.stringify(config)], { execArgv: process.execArgv, stdio: 'inherit' });
  return new Promise<FixtureProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited before it was ready (${signal ?? `code ${code}`})`));
    });
    child.on('message', (message: FromFixture) => {
      clearTimeout(timer);
      if (message.type === 'failed') reject(new Error(`${file}: ${message.error}`));
      else resolve({ pid: message.pid, stop: (graceMs) => stopChild(child, graceMs) });
    });
  });
}

function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    const stop: ToFixture = { type: 'stop' };
    if (child.connected) child.send(stop);
    else child.kill('SIGTERM');
  });
}
