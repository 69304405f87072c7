/**
 * How the Redis specs find a Redis: a private redis-server on a free port when none answers, and
 * a clean skip (one line saying how to get Redis) when none is installed either. Each scenario
 * runs one Redis spec file in a child mocha.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { freePort, redisServerInstalled } from '../support/redis-server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MOCHA = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');

function runSpec(file: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.CI;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MOCHA, '--reporter', 'dot', file], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('the Redis of the specs', () => {
  it('skips cleanly, saying in one line how to get Redis, when none answers and none is installed', async () => {
    const port = await freePort();
    const run = await runSpec('spec/redis/redis-write-batch.spec.ts', { REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_SERVER: '/nonexistent/redis-server' });
    expect(run.code, run.output).to.equal(0);
    const lines = run.output.split('\n').filter((l) => l.includes('SKIPPING'));
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/SKIPPING the Redis specs: no Redis at .* install redis-server \(apt install redis-server, brew install redis\) or set REDIS_URL/);
    expect(run.output).to.match(/pending/);
    expect(run.output).to.not.match(/failing|after all/);
  });

  it('starts a private redis-server on a free port when none answers', async function () {
    if (!redisServerInstalled()) this.skip();
    const port = await freePort();
    const run = await runSpec('spec/redis/redis-write-batch.spec.ts', { REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(run.code, run.output).to.equal(0);
    expect(run.output).to.not.include('SKIPPING');
    expect(run.output).to.match(/\d+ passing/);
    expect(run.output).to.not.match(/pending/);
  });
});
