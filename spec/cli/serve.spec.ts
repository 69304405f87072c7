/**
 * `pulsar-tasks serve` as a child process: start errors, an arbiter serving JSON-RPC, config files.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { runCli, startServe, type ServeChild } from './support.js';

describe('pulsar-tasks serve', () => {
  let served: ServeChild | undefined;
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pulsar-tasks-cli-'));
  });
  afterEach(async () => {
    await served?.stop();
    served = undefined;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('exits non-zero naming a task path that does not exist', async () => {
    const run = await runCli(['serve', '--task-paths', 'does/not/exist', '--rpc-bind', '127.0.0.1:0']);
    expect(run.code).to.not.equal(0);
    expect(run.stderr).to.include('does/not/exist');
    expect(run.stderr.trim().split('\n').at(-1)).to.match(/^error: .*does\/not\/exist/);
  });

  it('refuses to serve JSON-RPC beyond loopback without a token', async () => {
    const run = await runCli(['serve', '--task-paths', 'jobs/*', '--rpc-bind', '0.0.0.0:0', '--workers', '0']);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/^error: RpcServer "rpc" refuses to bind 0\.0\.0\.0:0/);
  });

  it('serves: prints the URL and a hint, runs queued tasks, and stops on SIGINT', async () => {
    served = await startServe(['--task-paths', 'jobs/*', '--rpc-bind', '127.0.0.1:0', '--workers', '1', '--concurrency', 'inline']);
    expect(served.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(served.output()).to.include(`pulsar-tasks queue addition a=1 b=2 --wait --url ${served.url}`);
    expect(served.output()).to.include(`curl -s ${served.url}`);
    const run = await runCli(['queue', 'addition', 'a=1', 'b=2', '--wait', '--url', served.url]);
    expect(run.code, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout)).to.include({ status: 'SUCCESS', result: 3 });
    expect(await served.stop()).to.equal(0);
  });

  it('runs process workers, the default, from the bin launcher (tsx reaches the children)', async () => {
    served = await startServe(['--task-paths', 'jobs/*', '--rpc-bind', '127.0.0.1:0', '--workers', '2']);
    const run = await runCli(['queue', 'checkworker', '--wait', '--url', served.url]);
    expect(run.code, run.stderr).to.equal(0);
    const task = JSON.parse(run.stdout) as { status: string; result: { pid: number } };
    expect(task.status).to.equal('SUCCESS');
    // Run in a worker process, not in the arbiter's.
    expect(task.result.pid).to.be.a('number').and.not.equal(served.child.pid);
    expect(await served.stop()).to.equal(0);
  });

  it('warns when it has no jobs, and never hints at queueing a periodic job', async () => {
    served = await startServe(['--rpc-bind', '127.0.0.1:0', '--workers', '0']);
    expect(served.output()).to.match(/WARN .*no jobs to run: give the modules of your jobs with --task-paths/);
    expect(await served.stop()).to.equal(0);
    served = await startServe(['--task-paths', 'jobs/periodic.ts', '--rpc-bind', '127.0.0.1:0', '--workers', '0']);
    expect(served.output()).to.include('pulsar-tasks queue <job> --wait');
    expect(served.output()).to.not.match(/queue (testperiodic|anchoredeveryhour)/);
    expect(await served.stop()).to.equal(0);
  });

  it('runs without JSON-RPC with --no-rpc, and stops on SIGINT', async () => {
    served = await startServe(['--task-paths', 'jobs/*', '--workers', '0', '--no-rpc'], {}, /running without JSON-RPC \(--no-rpc\)/);
    expect(served.output()).to.not.include('JSON-RPC API at');
    expect(await served.stop()).to.equal(0);
  });

  it('requires the token it was given, and says so in the hint', async () => {
    served = await startServe(['--task-paths', 'jobs/*', '--rpc-bind', '127.0.0.1:0', '--workers', '0', '--rpc-token', 'tok']);
    expect(served.output()).to.include('Authorization: Bearer $PULSAR_TASKS_RPC_TOKEN');
    expect((await runCli(['info', '--url', served.url])).code).to.equal(1);
    expect((await runCli(['info', '--url', served.url, '--token', 'tok'])).code).to.equal(0);
  });

  it('reads the token from --rpc-token-file, and clients from --token-file (kept out of ps)', async () => {
    const file = path.join(dir, 'token.txt');
    writeFileSync(file, 'from-file\n');
    served = await startServe(['--task-paths', 'jobs/*', '--rpc-bind', '127.0.0.1:0', '--workers', '0', '--rpc-token-file', file]);
    expect((await runCli(['info', '--url', served.url])).code).to.equal(1);
    expect((await runCli(['info', '--url', served.url, '--token-file', file])).code).to.equal(0);
    expect((await runCli(['info', '--url', served.url], { PULSAR_TASKS_RPC_TOKEN_FILE: file })).code).to.equal(0);
    const missing = await runCli(['info', '--url', served.url, '--token-file', path.join(dir, 'nope')]);
    expect(missing.stderr).to.match(/^error: cannot read the token file .*nope/m);
  });

  it('passes --rpc-cors and --rpc-allowed-hosts to its server', async () => {
    served = await startServe(['--task-paths', 'jobs/*', '--rpc-bind', '127.0.0.1:0', '--workers', '0', '--rpc-cors', 'https://app.example.com', '--rpc-allowed-hosts', 'q.internal']);
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const cors = await fetch(served.url, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: 'https://app.example.com' }, body });
    expect(cors.headers.get('access-control-allow-origin')).to.equal('https://app.example.com');
    const foreign = await fetch(served.url, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: 'https://evil.example' }, body });
    expect(foreign.status).to.equal(403);
    const info = JSON.parse((await runCli(['info', '--url', served.url])).stdout) as { apps: { rpc: { cors_origins: string[] } } };
    expect(info.apps.rpc.cors_origins).to.deep.equal(['https://app.example.com']);
    const bad = await runCli(['serve', '--rpc-cors', 'app.example.com', '--rpc-bind', '127.0.0.1:0', '--workers', '0']);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/^error: Invalid CORS origin "app\.example\.com"/);
  });

  it('reads --config, and flags override it', async () => {
    const file = path.join(dir, 'settings.json');
    writeFileSync(
      file,
      JSON.stringify({ name: 'fromfile', taskPaths: ['jobs/*'], workers: 1, concurrency: 'inline', rpcBind: '127.0.0.1:0', logJson: true }),
    );
    served = await startServe(['--config', file, '--name', 'fromflag']);
    const info = await runCli(['info', '--url', served.url]);
    expect(info.code, info.stderr).to.equal(0);
    expect(Object.keys((JSON.parse(info.stdout) as { apps: object }).apps)).to.include('fromflag').and.not.include('fromfile');
    // logJson from the file: log lines are JSON.
    const line = served.output().split('\n').find((l) => l.includes('JSON-RPC API at'));
    expect(JSON.parse(line as string)).to.include({ level: 'info', logger: 'pulsar.cli' });
    const run = await runCli(['queue', 'addition', 'a=2', 'b=3', '--wait', '--url', served.url]);
    expect(JSON.parse(run.stdout)).to.include({ status: 'SUCCESS', result: 5 });
  });

  it('reads a JS module as --config', async () => {
    const file = path.join(dir, 'settings.mjs');
    writeFileSync(file, "export default { taskPaths: ['jobs/*'], workers: 0, rpcBind: '127.0.0.1:0' };\n");
    served = await startServe(['--config', file]);
    expect((await runCli(['jobs', 'addition', '--url', served.url])).code).to.equal(0);
  });

  it('refuses a config file with an unknown setting, naming it', async () => {
    const file = path.join(dir, 'typo.json');
    writeFileSync(file, JSON.stringify({ taskPath: ['jobs/*'] }));
    const run = await runCli(['serve', '--config', file]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/^error: --config .*typo\.json: unknown setting "taskPath"/);
  });

  it('refuses a bad value from a config file, naming the setting', async () => {
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ taskPaths: ['jobs/*'], workers: -2, rpcBind: '127.0.0.1:0' }));
    const run = await runCli(['serve', '--config', file]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/^error: workers must be an integer ≥ 0/);
  });

  it('exits non-zero, saying why, when the arbiter gives up on its TaskQueue', async () => {
    const file = path.join(dir, 'doomed.json');
    writeFileSync(
      file,
      JSON.stringify({
        taskPaths: ['jobs/*', 'spec/fixtures/runtime/*'],
        workers: 1,
        concurrency: 'thread',
        restartIntensity: 0,
        rpcBind: '127.0.0.1:0',
        queueRestarts: { intensity: 0 },
      }),
    );
    served = await startServe(['--config', file]);
    const exited = new Promise<number | null>((resolve) => served!.child.once('exit', (code) => resolve(code)));
    await runCli(['queue', 'crash', 'code=3', '--url', served.url]);
    expect(await exited).to.equal(1);
    expect(served.output()).to.match(/the arbiter gives up on it/);
  });

  it('refuses a bad queueRestarts in a config file, naming it', async () => {
    const file = path.join(dir, 'restarts.json');
    writeFileSync(file, JSON.stringify({ taskPaths: ['jobs/*'], queueRestarts: { intensity: -1 } }));
    const run = await runCli(['serve', '--config', file]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/^error: queueRestarts in .*restarts\.json\.intensity: expected a number ≥ 0, got -1/m);
  });
});
