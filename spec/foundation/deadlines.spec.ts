/**
 * Deadlines (infra/deadlines.ts): callbacks due after a delay on one Node timer. Each is called
 * once, not before its delay, in the order of the times they are due; a cancelled one never is;
 * a pending one keeps the process alive only when asked to.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import { Deadlines } from '../../src/infra/deadlines.js';

const DEADLINES = new URL('../../src/infra/deadlines.ts', import.meta.url).href;

/** Runs `code` (an ES module with `Deadlines` in scope) in a node process; resolves to its stdout once it exits. */
function runChild(code: string): Promise<{ out: string; code: number | null }> {
  const source = `import { Deadlines } from ${JSON.stringify(DEADLINES)};\n${code}`;
  const child = spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (exitCode) => resolve({ out, code: exitCode })));
}

describe('Deadlines (infra/deadlines)', () => {
  it('calls each deadline once, not before its delay, in the order they are due, whatever the order added', async () => {
    const deadlines = new Deadlines();
    const start = performance.now();
    const calls: { name: string; after: number }[] = [];
    const all = new Promise<void>((resolve) => {
      const called = (name: string) => () => {
        calls.push({ name, after: performance.now() - start });
        if (calls.length === 4) resolve();
      };
      deadlines.add(120, called('120'));
      deadlines.add(30, called('30'));
      deadlines.add(60, called('60'));
      deadlines.add(30, called('30 again'));
    });
    await all;
    expect(calls.map((c) => c.name)).to.deep.equal(['30', '30 again', '60', '120']);
    for (const { name, after } of calls) expect(after, name).to.be.at.least(Number(name.split(' ')[0]));
    expect(deadlines.size).to.equal(0);
  });

  it('calls deadlines of different delays that fell due together (a long turn) in the order they were due', async () => {
    const deadlines = new Deadlines();
    const order: number[] = [];
    const all = new Promise<void>((resolve) => {
      for (const delay of [90, 30, 60]) deadlines.add(delay, () => order.push(delay) === 3 && resolve());
    });
    // A turn that outlasts all three: they are due together when the timer fires.
    const until = performance.now() + 150;
    while (performance.now() < until);
    await all;
    expect(order).to.deep.equal([30, 60, 90]);
  });

  it('a callback that throws does not keep the others due with it from being called; its error is uncaught, as from a timer', async () => {
    const run = await runChild(
      `process.on('uncaughtException', (err) => console.log('uncaught: ' + err.message));
       const d = new Deadlines();
       d.add(10, () => { throw new Error('first failed'); });
       d.add(20, () => console.log('second'));
       const until = performance.now() + 100;
       while (performance.now() < until);`,
    );
    expect(run).to.deep.equal({ out: 'second\nuncaught: first failed\n', code: 0 });
  });

  it('never calls a cancelled deadline, also the one the timer was armed for, and drops it at once', async () => {
    const deadlines = new Deadlines();
    const called: string[] = [];
    const first = deadlines.add(20, () => called.push('first'));
    const other = deadlines.add(40, () => called.push('other'));
    first.cancel();
    other.cancel();
    expect(deadlines.size).to.equal(0);
    // The timer still fires for the first (it is left armed), finds nothing due, and the next one is called.
    await new Promise<void>((resolve) => deadlines.add(60, () => resolve()));
    // Cancelling again, or after the call, changes nothing.
    first.cancel();
    expect(called).to.deep.equal([]);
    expect(deadlines.size).to.equal(0);
  });

  it('calls a deadline added by a callback, earlier than those already pending', async () => {
    const deadlines = new Deadlines();
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      deadlines.add(1000, () => {
        order.push('late');
        resolve();
      });
      deadlines.add(10, () => {
        order.push('first');
        deadlines.add(10, () => order.push('added by first'));
      });
    });
    expect(order).to.deep.equal(['first', 'added by first', 'late']);
  });

  it('keeps the process alive for a pending deadline only when asked to, as a ref\'d or unref\'d timer', async () => {
    // keepsAlive: the process waits for it.
    const kept = await runChild(`new Deadlines().add(100, () => console.log('called'));`);
    expect(kept).to.deep.equal({ out: 'called\n', code: 0 });
    // Not keepsAlive: nothing else holds the process, which exits without calling it.
    const unkept = await runChild(`new Deadlines().add(60_000, () => console.log('called'), false);`);
    expect(unkept).to.deep.equal({ out: '', code: 0 });
    // One of each: alive until the one kept is called; the other never is; once the kept one is
    // cancelled the process may end.
    const both = await runChild(
      `const d = new Deadlines(); d.add(60_000, () => console.log('unkept'), false); d.add(100, () => console.log('kept'));
       const c = d.add(60_000, () => console.log('cancelled')); c.cancel();`,
    );
    expect(both).to.deep.equal({ out: 'kept\n', code: 0 });
  });
});
