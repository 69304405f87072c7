/**
 * Runs one contender's driver (bench/drivers/<file>) in a fresh child process, with this
 * process's execArgv so the tsx loader carries over, and returns its report.
 */
import { fork } from 'node:child_process';
import { isDriverReply, type DriverReply, type DriverRequest, type DriverResult, type ThroughputResult } from './protocol.js';

type Answer = Exclude<DriverReply, { type: 'failed' }>;

/**
 * Forks the driver, sends it `request`, resolves with its report once the driver has exited (so
 * contenders never overlap); rejects on failure or after `timeoutMs`.
 */
export async function runDriver(file: string, request: DriverRequest, timeoutMs: number): Promise<DriverResult> {
  const answer = await runChild(file, { ...request, scope: 'full' }, timeoutMs);
  if (answer.type !== 'report') throw new Error(`${request.contender}: the driver answered ${answer.type}, not a full report`);
  return { report: answer.report, latencySamplesMs: answer.latencySamplesMs, steadyLatencySamplesMs: answer.steadyLatencySamplesMs };
}

/** The same for one point of the scaling run: only the throughput rounds, at the request's workers × concurrency. */
export async function runThroughput(file: string, request: DriverRequest, timeoutMs: number): Promise<ThroughputResult> {
  const answer = await runChild(file, { ...request, scope: 'throughput' }, timeoutMs);
  if (answer.type !== 'throughput') throw new Error(`${request.contender}: the driver answered ${answer.type}, not throughput rounds`);
  const { type: _type, ...result } = answer;
  return result;
}

function runChild(file: string, request: DriverRequest, timeoutMs: number): Promise<Answer> {
  // --expose-gc: the driver collects garbage before reading its retained heap (see window.ts).
  const child = fork(new URL(`../drivers/${file}`, import.meta.url), [], { execArgv: [...process.execArgv, '--expose-gc'], stdio: 'inherit' });
  return new Promise<Answer>((resolve, reject) => {
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
    let result: Answer | null = null;
    let failure: string | null = null;
    child.on('message', (message: unknown) => {
      if (!isDriverReply(message)) return;
      if (message.type === 'failed') failure = message.error;
      else result = message;
    });
    child.once('exit', (code, signal) => {
      const done = result;
      if (done) settle(() => resolve(done));
      else settle(() => reject(new Error(failure ?? `${request.contender}: driver exited (${signal ?? `code ${code}`}) without a report`)));
    });
    child.send(request);
  });
}
