/**
 * `pulsar-tasks` as a user runs it (a child process): help, flag errors, and the commands that
 * talk to a running RpcServer.
 */
import { expect } from 'chai';
import { startRpc, type RpcHarness } from '../rpc/support.js';
import { runCli } from './support.js';

/** The lines of a stream, without the empty last one. */
function lines(text: string): string[] {
  return text.split('\n').filter(Boolean);
}

describe('pulsar-tasks command line', () => {
  describe('help and flag errors', () => {
    it('prints help for the program and for every command, exit status 0', async () => {
      const top = await runCli(['--help']);
      expect(top.code).to.equal(0);
      for (const command of ['serve', 'queue', 'task', 'jobs', 'info']) expect(top.stdout).to.include(command);
      const serve = await runCli(['serve', '--help']);
      expect(serve.code).to.equal(0);
      for (const flag of ['--config', '--task-paths', '--task-backend', '--concurrent-tasks', '--schedule-periodic', '--workers', '--concurrency', '--max-requests', '--timeout', '--rpc-bind', '--no-rpc', '--rpc-token', '--rpc-insecure', '--log-level', '--log-json']) {
        expect(serve.stdout).to.include(flag);
      }
      for (const command of ['queue', 'task', 'jobs', 'info']) {
        const help = await runCli([command, '--help']);
        expect(help.code, command).to.equal(0);
        expect(help.stdout).to.include('--url');
      }
    });

    const badFlags: [string[], RegExp][] = [
      [['serve', '--workers', 'abc'], /--workers/],
      [['serve', '--workers', '-1'], /--workers|-1/],
      [['serve', '--concurrent-tasks', '0'], /--concurrent-tasks/],
      [['serve', '--max-requests', '1.5'], /--max-requests/],
      [['serve', '--timeout', 'soon'], /--timeout/],
      [['serve', '--concurrency', 'fork'], /--concurrency/],
      [['serve', '--rpc-bind', 'nohost'], /--rpc-bind/],
      [['serve', '--log-level', 'loud'], /--log-level/],
      [['serve', '--bogus'], /--bogus/],
      [['serve', '--no-rpc', '--rpc-bind', '127.0.0.1:0'], /--rpc-bind and --no-rpc/],
      [['serve', '--task-backend', 'nosuch://x', '--no-rpc'], /--task-backend: .*nosuch/],
      [['queue', 'addition', '--timeout', 'x'], /--timeout/],
      [['queue', 'addition', '--wait-timeout', '0'], /--wait-timeout/],
      [['queue', 'addition', 'novalue'], /"novalue" must be key=value/],
      [['info', '--url', 'ftp://x'], /--url/],
    ];
    for (const [args, naming] of badFlags) {
      it(`refuses ${args.join(' ')} with one line naming it, exit status 1`, async () => {
        const run = await runCli(args);
        expect(run.code).to.equal(1);
        expect(lines(run.stderr), run.stderr).to.have.length(1);
        expect(run.stderr).to.match(naming);
        expect(run.stderr).to.match(/^error: /);
      });
    }
  });

  describe('talking to a server', () => {
    let h: RpcHarness;
    before(async () => {
      h = await startRpc({ token: 'cli-token' });
    });
    after(async () => h?.close());

    const withServer = (args: string[]) => [...args, '--url', h.url, '--token', 'cli-token'];

    it('queue addition a=1 b=2 --wait prints the finished task: SUCCESS, result 3', async () => {
      const run = await runCli(withServer(['queue', 'addition', 'a=1', 'b=2', '--wait']));
      expect(run.code, run.stderr).to.equal(0);
      const task = JSON.parse(run.stdout) as { status: string; result: number; kwargs: object; time_ended: string };
      expect(task).to.include({ status: 'SUCCESS', result: 3 });
      expect(task.kwargs).to.deep.equal({ a: 1, b: 2 });
      expect(task.time_ended).to.match(/^\d{4}-\d\d-\d\dT/);
    });

    it('queue without --wait prints only the id, with --json the queued task; task <id> prints it again', async () => {
      const bare = await runCli(withServer(['queue', 'echo', 'message=bare']));
      expect(bare.code, bare.stderr).to.equal(0);
      expect(bare.stdout).to.match(/^[0-9A-Za-z]+\n$/);
      expect((await h.backend.waitForTask(bare.stdout.trim(), 30))?.result).to.equal('bare');
      const queued = await runCli(withServer(['queue', 'echo', 'message="42"', '--json']));
      expect(queued.code, queued.stderr).to.equal(0);
      const { id, kwargs } = JSON.parse(queued.stdout) as { id: string; kwargs: object };
      expect(kwargs).to.deep.equal({ message: '42' });
      await h.backend.waitForTask(id, 30);
      const shown = await runCli(withServer(['task', id]));
      expect(shown.code, shown.stderr).to.equal(0);
      expect(JSON.parse(shown.stdout)).to.include({ id, status: 'SUCCESS', result: '42' });
    });

    it('parses values as JSON when they are JSON, else keeps the string', async () => {
      const run = await runCli(withServer(['queue', 'echo', 'message=[1,{"x":null}]', '--wait']));
      expect((JSON.parse(run.stdout) as { result: unknown }).result).to.deep.equal([1, { x: null }]);
      const text = await runCli(withServer(['queue', 'echo', 'message=hello world', '--wait']));
      expect((JSON.parse(text.stdout) as { result: unknown }).result).to.equal('hello world');
    });

    it('exits 1 with the task printed when the task fails', async () => {
      const run = await runCli(withServer(['queue', 'fail', 'message=on purpose', '--wait']));
      expect(run.code).to.equal(1);
      expect(JSON.parse(run.stdout)).to.include({ status: 'FAILURE', result: 'on purpose' });
      const id = (JSON.parse(run.stdout) as { id: string }).id;
      // Not a terminal: the state changes are plain lines, then the error.
      expect(lines(run.stderr).at(-2)).to.equal(`task ${id} FAILURE`);
      expect(lines(run.stderr).at(-1)).to.equal(`error: task ${id} ended FAILURE: on purpose`);
    });

    it('gives up waiting after --wait-timeout with one error line', async () => {
      const run = await runCli(withServer(['queue', 'asynchronous', 'lag=2', '--wait-timeout', '0.2']));
      expect(run.code).to.equal(1);
      expect(lines(run.stderr).filter((l) => l.startsWith('error: '))).to.have.length(1);
      expect(lines(run.stderr).at(-1)).to.match(/^error: Task \w+ was not ready after 0\.2 seconds/);
    });

    it('lists jobs by name, and prints the server info', async () => {
      const jobs = await runCli(withServer(['jobs']));
      expect(jobs.code, jobs.stderr).to.equal(0);
      expect(JSON.parse(jobs.stdout)).to.have.property('addition').that.includes({ type: 'regular' });
      const some = await runCli(withServer(['jobs', 'echo']));
      expect(Object.keys(JSON.parse(some.stdout) as object)).to.deep.equal(['echo']);
      const info = await runCli(withServer(['info']));
      expect(info.code, info.stderr).to.equal(0);
      expect(JSON.parse(info.stdout)).to.have.property('apps');
    });

    it('reads the token from PULSAR_TASKS_RPC_TOKEN', async () => {
      const run = await runCli(['info', '--url', h.url], { PULSAR_TASKS_RPC_TOKEN: 'cli-token' });
      expect(run.code, run.stderr).to.equal(0);
    });

    it('says so in one line when the token is missing, the job unknown, or the task not there', async () => {
      const cases: [string[], RegExp][] = [
        [['info', '--url', h.url], /^error: unauthorized/],
        [withServer(['queue', 'nosuchjob']), /^error: Task nosuchjob is not registered$/],
        [withServer(['task', 'nosuchtask']), /^error: no task nosuchtask/],
      ];
      for (const [args, message] of cases) {
        const run = await runCli(args);
        expect(run.code, args.join(' ')).to.equal(1);
        expect(lines(run.stderr)).to.have.length(1);
        expect(run.stderr.trim()).to.match(message);
      }
    });

    it('says it cannot reach the server, in one line, when nothing listens', async () => {
      const other = await startRpc();
      const url = other.url;
      await other.close();
      const run = await runCli(['info', '--url', url]);
      expect(run.code).to.equal(1);
      expect(lines(run.stderr)).to.have.length(1);
      expect(run.stderr).to.include(`error: cannot reach the pulsar-tasks server at ${url}: `);
      expect(run.stderr).to.match(/ECONNREFUSED/);
    });
  });
});
