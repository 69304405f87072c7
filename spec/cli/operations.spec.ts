/**
 * The operations of the command line against a running RpcServer: per-task options of `queue`,
 * `--wait` live output, `retry`, `revoke`, `purge`, `tasks`, and `jobs` of an unknown name.
 */
import { expect } from 'chai';
import { FAILURE, REVOKED, SUCCESS } from '../../src/model/states.js';
import { RpcClient } from '../../src/rpc/client.js';
import { watchTask } from '../../src/cli/task-watch.js';
import { startRpc, type RpcHarness } from '../rpc/support.js';
import { runCli } from './support.js';

function lines(text: string): string[] {
  return text.split('\n').filter(Boolean);
}

describe('pulsar-tasks operations', () => {
  describe('bad values', () => {
    const badFlags: [string[], RegExp][] = [
      [['queue', 'addition', '--priority', 'high'], /--priority/],
      [['queue', 'addition', '--delay', 'soon'], /--delay/],
      [['queue', 'addition', '--delay', '-5'], /--delay/],
      [['queue', 'addition', '--eta', 'tomorrow'], /--eta/],
      [['queue', 'addition', '--eta', '2030-01-01T00:00:00'], /--eta/],
      [['queue', 'addition', '--max-retries', '-1'], /--max-retries/],
      [['queue', 'addition', '--max-retries', '1.5'], /--max-retries/],
      [['queue', 'addition', '--retry-delay', 'x'], /--retry-delay/],
      [['queue', 'addition', '--timeout', '0'], /--timeout/],
      [['queue', 'addition', '--expiry', '2 hours'], /--expiry/],
      [['queue', 'addition', '--idempotency-key', ' '], /--idempotency-key/],
      [['queue', 'addition', '--delay', '5', '--eta', '2030-01-01T00:00:00Z'], /--delay and --eta/],
      [['tasks', '--limit', '0'], /--limit/],
      [['tasks', '--limit', '1001'], /--limit/],
      [['tasks', '--status', 'DONE'], /--status.*DONE/],
      [['purge', '--older-than', 'yesterday'], /--older-than/],
      [['purge', '--status', 'QUEUED'], /--status.*QUEUED/],
      [['retry'], /missing required argument 'id'/],
      [['revoke'], /missing required argument 'id'/],
    ];
    for (const [args, naming] of badFlags) {
      it(`refuses ${args.join(' ')} with one line naming it, exit status 1`, async () => {
        const run = await runCli(args);
        expect(run.code, run.stderr).to.equal(1);
        expect(lines(run.stderr), run.stderr).to.have.length(1);
        expect(run.stderr).to.match(naming);
        expect(run.stderr).to.match(/^error: /);
      });
    }

    it('lists the new commands and flags in --help', async () => {
      const top = await runCli(['--help']);
      for (const command of ['tasks', 'retry', 'revoke', 'purge']) expect(top.stdout).to.include(command);
      const queue = await runCli(['queue', '--help']);
      for (const flag of ['--priority', '--delay', '--eta', '--max-retries', '--retry-delay', '--timeout', '--expiry', '--idempotency-key', '--wait', '--wait-timeout', '--json']) {
        expect(queue.stdout).to.include(flag);
      }
    });
  });

  describe('against a server', () => {
    let h: RpcHarness;
    before(async () => {
      h = await startRpc({ token: 'ops-token' });
    });
    after(async () => h?.close());

    const withServer = (args: string[]) => [...args, '--url', h.url, '--token', 'ops-token'];
    const cli = async (args: string[]) => {
      const run = await runCli(withServer(args));
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).to.equal(0);
      return run;
    };
    const failing = async (args: string[], message: RegExp) => {
      const run = await runCli(withServer(args));
      expect(run.code, args.join(' ')).to.equal(1);
      expect(lines(run.stderr), run.stderr).to.have.length(1);
      expect(run.stderr.trim()).to.match(message);
    };

    it('queue sets priority, retries, retry delay, timeout and expiry as task options, not kwargs', async () => {
      const before = Date.now() / 1000;
      const run = await cli(['queue', 'addition', 'a=1', '--priority', '7', '--max-retries', '2', '--retry-delay', '1.5', '--timeout', '30s', '--expiry', '1h', '--json']);
      const task = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(task.kwargs).to.deep.equal({ a: 1 });
      expect(task).to.include({ priority: 7, max_retries: 2, retry_delay: 1.5, timeout: 30 });
      const expiry = Date.parse(task.expiry as string) / 1000;
      expect(expiry).to.be.within(before + 3599, Date.now() / 1000 + 3601);
    });

    it('queue --delay and --eta hold a task back; revoke <id> revokes it, and says why it cannot twice', async () => {
      const delayed = (await cli(['queue', 'addition', '--delay', '2h'])).stdout.trim();
      const tomorrow = new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
      const atEta = (await cli(['queue', 'addition', '--eta', tomorrow])).stdout.trim();
      const [d, e] = [await h.backend.getTask(delayed), await h.backend.getTask(atEta)];
      expect(d?.eta?.toMillis()).to.be.greaterThan(Date.now() + 7100_000);
      expect(e?.eta?.toMillis()).to.be.closeTo(Date.parse(tomorrow), 1000);
      for (const id of [delayed, atEta]) {
        expect((await cli(['revoke', id])).stdout).to.equal(`revoked ${id}\n`);
        expect((await h.backend.getTask(id))?.status).to.equal(REVOKED);
      }
      await failing(['revoke', delayed], /^error: task \w+ was not revoked: it is REVOKED/);
      await failing(['revoke', 'nosuchtask'], /^error: no task nosuchtask/);
    });

    it('queue --wait writes plain state and progress lines when stderr is not a terminal', async () => {
      const run = await runCli(withServer(['queue', 'steps', 'steps=3', 'lag=0.3', '--wait']));
      expect(run.code, run.stderr).to.equal(0);
      const id = (JSON.parse(run.stdout) as { id: string; result: number }).id;
      const shown = lines(run.stderr);
      expect(shown.every((l) => l.startsWith(`task ${id} `)), run.stderr).to.equal(true);
      expect(shown.at(-1)).to.equal(`task ${id} SUCCESS progress 100%`);
      const percents = shown.map((l) => /progress (\d+)%/.exec(l)?.[1]).filter(Boolean).map(Number);
      expect(percents).to.deep.equal([...percents].sort((a, b) => a - b));
    });

    it('--wait on a terminal redraws one line with a progress bar', async () => {
      const client = new RpcClient(h.url, { token: 'ops-token' });
      const id = (await client.queueTask('steps', { steps: 4, lag: 0.25 })) as string;
      let written = '';
      const task = await watchTask(client, id, 30, { isTTY: true, columns: 100, write: (s: string) => (written += s) });
      expect(task.status).to.equal(SUCCESS);
      expect(written).to.include('\r\x1b[2K');
      expect(written).to.match(/SUCCESS \[#{24}\] 100%/);
      expect(written.endsWith('\n')).to.equal(true);
      expect(written.split('\n')).to.have.length(2);
    });

    it('retry <id> queues a new run of a FAILURE task with the same kwargs, linked to the old one', async () => {
      const failed = (await cli(['queue', 'fail', 'message=first'])).stdout.trim();
      expect((await h.backend.waitForTask(failed, 30))?.status).to.equal(FAILURE);
      const again = (await cli(['retry', failed])).stdout.trim();
      expect(again).to.match(/^[0-9A-Za-z]+$/).and.not.equal(failed);
      const run = await h.backend.waitForTask(again, 30);
      expect(run?.kwargs).to.deep.equal({ message: 'first' });
      expect(run?.meta).to.include({ retry_of: failed });
      expect(run?.status).to.equal(FAILURE);
      expect((await h.backend.getTask(failed))?.status).to.equal(FAILURE);
    });

    it('retry refuses a task that is not FAILURE or REVOKED, and an unknown id, in one line', async () => {
      const ok = (await cli(['queue', 'addition', 'a=1'])).stdout.trim();
      await h.backend.waitForTask(ok, 30);
      await failing(['retry', ok], /^error: Invalid params: task \w+ is SUCCESS: only a FAILURE or REVOKED task can be retried$/);
      await failing(['retry', 'nosuchtask'], /^error: Invalid params: no task nosuchtask$/);
    });

    it('queue --idempotency-key gives the first task\'s id again and stores nothing new', async () => {
      const first = (await cli(['queue', 'addition', 'a=5', '--idempotency-key', 'order-42'])).stdout.trim();
      const second = (await cli(['queue', 'addition', 'a=6', '--idempotency-key', 'order-42'])).stdout.trim();
      expect(second).to.equal(first);
      expect((await h.backend.getTask(first))?.kwargs).to.deep.equal({ a: 5 });
    });

    it('tasks lists a page as a table or JSON, filtered by job and state, and pages on with --cursor', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await cli(['queue', 'echo', `message=page${i}`])).stdout.trim());
      for (const id of ids) await h.backend.waitForTask(id, 30);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const args = ['tasks', '--job', 'echo', '--status', 'SUCCESS', '--limit', '2', '--json', ...(cursor ? ['--cursor', cursor] : [])];
        const page = JSON.parse((await cli(args)).stdout) as { tasks: { id: string; name: string; status: string }[]; cursor: string | null };
        expect(page.tasks.length).to.be.at.most(2);
        expect(page.tasks.every((t) => t.name === 'echo' && t.status === 'SUCCESS')).to.equal(true);
        seen.push(...page.tasks.map((t) => t.id));
        cursor = page.cursor;
      } while (cursor);
      expect(new Set(seen).size).to.equal(seen.length);
      expect(seen).to.include.members(ids);
      const table = await cli(['tasks', '--job', 'echo', '--limit', '2']);
      const rows = lines(table.stdout);
      expect(rows[0]).to.match(/^ID\s+JOB\s+STATUS\s+QUEUED\s+RUN\s+RETRIES\s+RESULT$/);
      expect(rows.slice(1).every((r) => /^[0-9A-Za-z]+\s+echo\s+SUCCESS\s/.test(r))).to.equal(true);
      expect(table.stderr).to.match(/^more: pulsar-tasks tasks --job echo --limit 2 --cursor \S+\n$/);
    });

    it('purge deletes ended tasks of the states asked, older than asked, and says how many', async () => {
      const failed = (await cli(['queue', 'fail', 'message=purge me'])).stdout.trim();
      const ok = (await cli(['queue', 'addition', 'a=9'])).stdout.trim();
      await h.backend.waitForTask(failed, 30);
      await h.backend.waitForTask(ok, 30);
      expect((await cli(['purge', '--older-than', '1h'])).stdout).to.equal('purged 0 tasks\n');
      const purged = (await cli(['purge', '--status', 'FAILURE'])).stdout;
      expect(purged).to.match(/^purged [1-9]\d* tasks?\n$/);
      expect(await h.backend.getTask(failed)).to.equal(null);
      expect((await h.backend.getTask(ok))?.status).to.equal(SUCCESS);
    });

    it('jobs of an unknown name is an error listing the known ones, with a hint when only the case differs', async () => {
      await failing(['jobs', 'Addition'], /^error: unknown job "Addition": did you mean "addition"\? known jobs: .*addition.*echo/);
      await failing(['jobs', 'nosuchjob'], /^error: unknown job "nosuchjob": known jobs: .*addition/);
    });
  });
});
