/**
 * Runs one contender's driver (bench/drivers/<file>) in a fresh child process, with this
 * process's execArgv so the tsx loader carries over, and returns its report.
 */
import { fork } from 'node:child_process';
import { isDriverReply, type DriverRequest, type DriverResult } from './protocol.js';

/**
 * Forks the driver, sends it `request`, resolves with its report once the driver has exited (so
 * contenders never overlap); rejects on failure or after `timeoutMs`.
 */
export function runDriver(file: string, request: DriverRequest, timeoutMs: number): Promise<DriverResult> {
  // --expose-gc: the driver collects garbage before reading its retained heap (see window.ts).
  const child = fork(new URL(`../drivers/${file}`, import.meta.url), [], { execArgv: [...process.execArgv, '--expose-gc'], stdio: 'inherit' });
  return new Promise<DriverResult>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(() => reject(new Error(`${request.contender}: no report within ${Math.round(timeoutMs / 1000)} s`)));
    }, timeoutMs);
    let result: DriverResult | null = null;
    let failure: string | null = null;
    child.on('message', (message: unknown) => {
      if (!isDriverReply(message)) return;
      if (message.type === 'report') result = { report: message.report, latencySamplesMs: message.latencySamplesMs };
      else failure = message.error;
    });
    child.once('exit', (code, signal) => {
      const done = result;
      if (done) settle(() => resolve(done));
      else settle(() => reject(new Error(failure ?? `${request.contender}: driver exited (${signal ?? `code ${code}`}) without a report`)));
    });
    child.send(request);
  });
}
