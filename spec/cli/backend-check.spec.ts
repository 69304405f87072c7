/**
 * `serve` checks its task backend at start: one clear line and exit status 1 for a Redis that is
 * unreachable or a database out of range; with --wait-for-backend it waits, saying so once.
 */
import { expect } from 'chai';
import { freePort, redisServerInstalled, TestRedisServer } from '../support/redis-server.js';
import { dropNamespace, redisAvailable, specUrl } from '../redis/redis-env.js';
import { runCli, startServe, type ServeChild } from './support.js';

describe('pulsar-tasks serve checks its backend', () => {
  let served: ServeChild | undefined;
  let redis: TestRedisServer | undefined;
  afterEach(async () => {
    await served?.stop();
    served = undefined;
    await redis?.destroy();
    redis = undefined;
  });

  it('exits 1 with one line for an unreachable Redis, the password redacted', async () => {
    const port = await freePort();
    const run = await runCli(['serve', '--task-paths', 'jobs/*', '--rpc-bind', '127.0.0.1:0', '--task-backend', `redis://:hunter2@127.0.0.1:${port}/0`]);
    expect(run.code).to.equal(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(new RegExp(`^error: Redis redis://127\\.0\\.0\\.1:${port}/0 is unavailable: .*ECONNREFUSED.*--wait-for-backend`));
    expect(run.stderr).to.not.include('hunter2');
  });

  it('exits 1 with one line for a database out of range', async function () {
    if (!redisServerInstalled()) this.skip();
    redis = await TestRedisServer.start();
    const run = await runCli(['serve', '--task-paths', 'jobs/*', '--rpc-bind', '127.0.0.1:0', '--task-backend', redis.url(99)]);
    expect(run.code).to.equal(1);
    expect(run.stderr.trim().split('\n')).to.have.length(1);
    expect(run.stderr).to.match(/^error: Redis .*\/99 is unavailable: ERR DB index is out of range/);
  });

  it('waits for the backend with --wait-for-backend, says so once, and starts once it answers', async function () {
    if (!redisServerInstalled()) this.skip();
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}/0`;
    served = await startServe(
      ['--task-paths', 'jobs/*', '--rpc-bind', '127.0.0.1:0', '--workers', '0', '--task-backend', url, '--wait-for-backend'],
      {},
      /waiting for the task backend/,
    );
    expect(served.output()).to.match(/WARN .*waiting for the task backend \(--wait-for-backend\): Redis .* is unavailable/);
    redis = await TestRedisServer.start(port);
    const output = served.output;
    await new Promise<void>((resolve) => {
      const onData = () => {
        if (/queue a task: .*\n/.test(output())) {
          served!.child.stderr?.off('data', onData);
          resolve();
        }
      };
      served!.child.stderr?.on('data', onData);
      onData();
    });
    expect(output().match(/waiting for the task backend/g)).to.have.length(1);
    expect(output()).to.match(/task backend redis:\/\/127\.0\.0\.1:\d+\/0 answers: starting/);
    expect(await served.stop()).to.equal(0);
  });

  it('never shows the Redis password: not in the start log, not in `info`', async function () {
    if (!(await redisAvailable())) this.skip();
    // A password the server does not require is accepted (with a warning from ioredis).
    const url = new URL(specUrl());
    url.password = 'hunter2';
    served = await startServe(['--task-paths', 'jobs/*', '--rpc-bind', '127.0.0.1:0', '--workers', '0', '--task-backend', url.toString()]);
    const info = await runCli(['info', '--url', served.url]);
    expect(info.code, info.stderr).to.equal(0);
    expect(info.stdout).to.include(':***@');
    expect(info.stdout + served.output()).to.not.include('hunter2');
    expect(served.output()).to.match(/backend redis:\/\/:\*\*\*@/);
    expect(await served.stop()).to.equal(0);
    await dropNamespace();
  });
});
