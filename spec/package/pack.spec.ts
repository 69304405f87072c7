/**
 * First contact as a user has it: `npm pack` (which builds dist/ through `prepare`), the tarball
 * installed into an empty project, `import { Job } from 'pulsar-tasks'` in a user's .ts and .js
 * job, and `npx pulsar-tasks serve` running them in process workers from the compiled package.
 * Slow (a build and an install): it runs in CI, and locally with the full suite.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ROOT } from '../cli/support.js';

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The environment of the user's project: none of the repository's settings or loaders. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('PULSAR_TASKS_')) delete env[key];
  delete env.NODE_OPTIONS;
  return env;
}

const ADD_TS = `import { Job, type TaskConsumer } from 'pulsar-tasks';

export class Add extends Job {
  run(_consumer: TaskConsumer, { a = 0, b = 0 }: { a?: number; b?: number }): number {
    return a + b;
  }
}
`;

const HELLO_JS = `import { Job } from 'pulsar-tasks';

export class Hello extends Job {
  run(_consumer, { name = 'world' }) {
    return 'hello ' + name;
  }
}
`;

describe('the npm package', function () {
  this.timeout(600_000);
  let dir: string;
  let project: string;
  let serve: ChildProcess | undefined;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pulsar-tasks-pack-'));
    await run(NPM, ['pack', '--pack-destination', dir], { cwd: ROOT, env: userEnv(), maxBuffer: 16 * 1024 * 1024 });
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack made no tarball in ${dir}`);
    project = path.join(dir, 'project');
    mkdirSync(path.join(project, 'jobs'), { recursive: true });
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
    writeFileSync(path.join(project, 'jobs', 'add.ts'), ADD_TS);
    writeFileSync(path.join(project, 'jobs', 'hello.js'), HELLO_JS);
    await run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(dir, tarball)], {
      cwd: project,
      env: userEnv(),
      maxBuffer: 16 * 1024 * 1024,
    });
  });

  after(async () => {
    await stopServe();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ships the compiled dist/ and resolves `import { Job } from "pulsar-tasks"` to it', async () => {
    const script = "import('pulsar-tasks').then((m) => console.log(typeof m.Job, typeof m.Arbiter, import.meta.resolve('pulsar-tasks')))";
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project, env: userEnv() });
    expect(stdout).to.match(/^function function file:.*node_modules\/pulsar-tasks\/dist\/src\/index\.js/);
  });

  /** Starts the installed `pulsar-tasks serve` with `args`; resolves to its JSON-RPC URL once it hints. */
  async function startServe(args: string[]): Promise<{ url: string; output: () => string }> {
    const bin = path.join(project, 'node_modules', '.bin', 'pulsar-tasks');
    await stopServe();
    serve = spawn(bin, ['serve', '--task-paths', 'jobs/*', '--rpc-bind', '127.0.0.1:0', '--log-level', 'info', ...args], {
      cwd: project,
      env: userEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      serve!.stderr!.on('data', (d: Buffer) => {
        output += d.toString();
        const match = /JSON-RPC API at (http:\/\/[^\s]+)/.exec(output);
        if (match && /queue a task: .*\n/.test(output)) resolve(match[1] as string);
      });
      serve!.once('exit', (code) => reject(new Error(`serve exited (${code}):\n${output}`)));
    });
    return { url, output: () => output };
  }

  async function stopServe(): Promise<void> {
    const child = serve;
    serve = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  async function queue(url: string, args: string[]): Promise<{ status: string; result: unknown }> {
    const bin = path.join(project, 'node_modules', '.bin', 'pulsar-tasks');
    const { stdout } = await run(bin, ['queue', ...args, '--wait', '--timeout', '60', '--url', url], { cwd: project, env: userEnv() });
    return JSON.parse(stdout) as { status: string; result: unknown };
  }

  it('runs `npx pulsar-tasks serve` with a .ts and a .js job in process workers, from dist/, and queues tasks', async () => {
    const { url, output } = await startServe(['--workers', '1']);
    expect(output()).to.match(/jobs: add, hello/);
    expect(await queue(url, ['add', 'a=40', 'b=2'])).to.include({ status: 'SUCCESS', result: 42 });
    expect(await queue(url, ['hello', 'name=pack'])).to.include({ status: 'SUCCESS', result: 'hello pack' });
    const { stdout: ps } = await run('ps', ['-o', 'args=', '--ppid', String(serve!.pid)]);
    expect(ps).to.include('node_modules/pulsar-tasks/dist/actors/child-entry.js');
  });

  it('runs the .ts job in a thread worker too (tsx registered in the thread when needed)', async () => {
    const { url } = await startServe(['--workers', '1', '--concurrency', 'thread']);
    expect(await queue(url, ['add', 'a=1', 'b=2'])).to.include({ status: 'SUCCESS', result: 3 });
  });
});
