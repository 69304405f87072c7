/**
 * Worker processes live in process groups of their own (so a terminal's Ctrl-C reaches only the
 * arbiter): a kill -9 of the arbiter must still take them down, through their IPC channel.
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { startArbiterProcess, type ArbiterProcess } from '../support/processes.js';
import { alive, eventually, TASK_PATHS } from '../support/runtime.js';

/** Pids of the worker children (child-boot) of process `pid`. */
function workerChildren(pid: number): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there is none
  }
  return out
    .split('\n')
    .filter((line) => line.includes('child-boot'))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

describe('worker processes of a killed arbiter', function () {
  this.timeout(60_000);
  let arbiter: ArbiterProcess | undefined;
  afterEach(async () => {
    await arbiter?.stop();
    arbiter = undefined;
  });

  it('exit when their arbiter is killed with SIGKILL, though in their own process groups', async () => {
    arbiter = await startArbiterProcess({ name: 'orphans', taskPaths: TASK_PATHS, workers: 2, concurrency: 'process' });
    const pid = arbiter.child.pid as number;
    const children = await eventually(async () => {
      const pids = workerChildren(pid);
      return pids.length === 2 ? pids : undefined;
    }, 'two worker processes');
    for (const child of children) expect(execFileSync('ps', ['-o', 'pgid=', '-p', String(child)], { encoding: 'utf8' }).trim()).to.equal(String(child));
    arbiter.child.kill('SIGKILL');
    await arbiter.exited;
    await eventually(async () => children.every((child) => !alive(child)), 'the worker processes to exit', 20_000);
  });
});
