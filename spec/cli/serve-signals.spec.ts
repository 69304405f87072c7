/**
 * Ctrl-C in a terminal: SIGINT reaches every process of `pulsar-tasks serve`'s group, its worker
 * children included. Only the arbiter may act on it: running tasks get the shutdown grace, no
 * worker dies of the signal or is respawned; a second Ctrl-C stops at once, handing tasks back.
 * On redis://, so the tasks can be read after the server is gone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createBackend } from '../../src/producer/create-backend.js';
import type { TaskBackend } from '../../src/producer/backend.js';
import { FAILURE, QUEUED, STARTED, SUCCESS } from '../../src/model/states.js';
import { dropNamespace, redisAvailable, specUrl } from '../redis/redis-env.js';
import { startServeGroup, type ServeGroup } from '../support/serve-group.js';
import { eventually } from '../support/runtime.js';

describe('pulsar-tasks serve and Ctrl-C (SIGINT to its whole process group)', function () {
  this.timeout(120_000);
  const url = specUrl();
  let served: ServeGroup | undefined;
  let producer: TaskBackend | undefined;
  let dir: string;

  before(async function () {
    if (!(await redisAvailable())) this.skip();
    dir = mkdtempSync(path.join(tmpdir(), 'pulsar-tasks-signals-'));
  });
  afterEach(async () => {
    await served?.destroy();
    served = undefined;
    await producer?.close();
    producer = undefined;
  });
  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await dropNamespace();
  });

  /** A serve of app `name` with 2 process workers and `shutdownGrace`, and a producer of that app. */
  const start = async (name: string, shutdownGrace: number) => {
    const config = path.join(dir, `${name}.json`);
    writeFileSync(config, JSON.stringify({ name, taskPaths: ['jobs/*'], taskBackend: url, workers: 2, concurrency: 'process', shutdownGrace, rpc: false }));
    served = await startServeGroup(['--config', config], new RegExp(`taskqueue ${name} up`));
    await served.waitFor(/started \(process[^]*started \(process/, 'both workers started');
    producer = await createBackend(url, { name, taskPaths: ['jobs/*'] });
  };
  const startedTask = async (lag: number) => {
    const id = (await producer!.queueTask('asynchronous', { lag })) as string;
    await eventually(async () => (await producer!.getTask(id))?.status === STARTED, 'the task to start');
    return id;
  };

  // SIGINT: a terminal's Ctrl-C; SIGTERM: systemd (KillMode=control-group) or `docker stop`.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`lets a running 3 s task finish on ${signal} to the group: SUCCESS, no worker dies of the signal or is respawned, exit 0`, async () => {
      const name = `${signal.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}`;
      await start(name, 20);
      const id = await startedTask(3);
      served!.signalGroup(signal);
      expect(await served!.exited, served!.output()).to.equal(0);
      const task = await producer!.getTask(id);
      expect(task?.status, String(task?.result)).to.equal(SUCCESS);
      expect(task?.redeliveries).to.equal(0);
      expect(await producer!.getTasks({ status: [FAILURE] })).to.have.length(0);
      const output = served!.output();
      expect(output).to.not.match(/exited: crashed/);
      expect(output.match(/started \(process/g), 'workers started').to.have.length(2);
    });
  }

  it('stops at once on a second Ctrl-C, handing the running task back uncharged (QUEUED, redeliveries 0)', async () => {
    const name = `sigint2-${Math.random().toString(36).slice(2, 8)}`;
    await start(name, 60);
    const id = await startedTask(60);
    served!.signalGroup('SIGINT');
    await served!.waitFor(/stopping gracefully/, 'the graceful stop');
    const second = Date.now();
    served!.signalGroup('SIGINT');
    const code = await served!.exited;
    expect(Date.now() - second, 'time to stop after the second Ctrl-C').to.be.below(8000);
    expect(code, served!.output()).to.equal(130);
    const task = await producer!.getTask(id);
    expect(task?.status).to.equal(QUEUED);
    expect(task?.redeliveries).to.equal(0);
    expect(task?.retries).to.equal(0);
    expect(served!.output()).to.not.match(/exited: crashed/);
  });
});
