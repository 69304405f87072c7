/**
 * The dashboard in real headless Chromium, on local:// and redis://: it loads without console
 * errors and without reaching outside, counts change live, a FAILURE task shows its stacktrace,
 * retry and revoke work once confirmed and are refused without the token.
 * `SCREENSHOTS=1` saves the main views under docs/ (the README shows them).
 */
import path from 'node:path';
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { Arbiter } from '../../actors/arbiter.js';
import { TaskQueue } from '../../src/app/taskqueue.js';
import { FAILURE, REVOKED } from '../../src/model/states.js';
import type { TaskBackend } from '../../src/producer/backend.js';
import { RpcServer } from '../../src/rpc/server.js';
import { ROOT } from '../cli/support.js';
import { dropNamespace, redisAvailable, specUrl } from '../redis/redis-env.js';
import { chromiumAvailable, launchChromium, type Chromium } from './browser.js';

const TOKEN = 'dashboard-token';

/** Resolves once `condition` holds, looking again after each page update (the page polls every 2 s). */
async function until(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

for (const scheme of ['local', 'redis'] as const) {
  describe(`dashboard on ${scheme}://`, function () {
    this.timeout(120_000);
    let arbiter: Arbiter;
    let rpc: RpcServer;
    let backend: TaskBackend;
    let chromium: Chromium;
    /** Every request the page tried beyond the server: the network to the outside is cut. */
    const outside: string[] = [];
    const problems: string[] = [];

    before(async function () {
      if (!chromiumAvailable() || (scheme === 'redis' && !(await redisAvailable()))) this.skip();
      arbiter = new Arbiter({ handleSignals: false });
      const tq = arbiter.add(
        new TaskQueue({ taskPaths: ['jobs/*'], workers: 2, concurrency: 'inline', schedulePeriodic: true, taskBackend: scheme === 'redis' ? specUrl() : 'local://' }),
      );
      rpc = arbiter.add(new RpcServer({ bind: '127.0.0.1:0', token: TOKEN, dashboard: true }));
      await arbiter.start();
      backend = tq.backend;
      chromium = await launchChromium();
      const origin = new URL(rpc.url).origin;
      await chromium.context.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith(origin) || url.startsWith('data:')) return route.continue();
        outside.push(url);
        return route.abort('internetdisconnected');
      });
    });
    after(async () => {
      await chromium?.close();
      await arbiter?.stop();
      if (scheme === 'redis') await dropNamespace();
    });

    /** A new tab with the token given (or `token`), watching for console errors. */
    async function open(hash = '', token: string | null = TOKEN): Promise<Page> {
      const page = await chromium.context.newPage();
      page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      if (token !== null) await page.addInitScript({ content: `sessionStorage.setItem('pulsar-tasks-token', ${JSON.stringify(token)})` });
      await page.goto(`${rpc.dashboardUrl}${hash}`);
      return page;
    }

    const figure = async (page: Page, what: string) => Number(await page.getByTestId(`taskqueue-${what}`).locator('.value').textContent());
    const confirmIt = async (page: Page) => {
      await page.getByTestId('confirm').waitFor();
      await page.getByTestId('confirm-yes').click();
    };

    it('loads with no console errors, and its counts change live while tasks run', async () => {
      const page = await open();
      await page.getByTestId('queue-taskqueue').waitFor();
      const before = await figure(page, 'succeeded');
      const ids = await backend.queueTasks([1, 2, 3, 4, 5].map((a) => ({ jobName: 'addition', kwargs: { a } })));
      for (const id of ids) await backend.waitForTask(id as string, 30);
      await until(async () => (await figure(page, 'succeeded')) >= before + 5);
      if (process.env.SCREENSHOTS && scheme === 'local') {
        // A livelier picture for the README: failures, and tasks still running and waiting.
        const more = await backend.queueTasks([
          ...Array.from({ length: 40 }, (_, a) => ({ jobName: 'addition', kwargs: { a } })),
          ...Array.from({ length: 6 }, (_, i) => ({ jobName: 'fail', kwargs: { message: `failure ${i}` } })),
        ]);
        for (const id of more) await backend.waitForTask(id as string, 30);
        await backend.queueTasks(Array.from({ length: 12 }, () => ({ jobName: 'steps', kwargs: { steps: 100, lag: 0.1 } })));
        await until(async () => (await figure(page, 'running')) >= 10 && (await figure(page, 'failed')) >= 6);
      }
      expect(await page.locator('.chart canvas').count()).to.be.greaterThan(0);
      expect(await page.getByTestId('live-status').textContent()).to.equal('live');
      if (process.env.SCREENSHOTS && scheme === 'local') await page.screenshot({ path: path.join(ROOT, 'docs', 'dashboard-overview.png') });
      await page.close();
    });

    it('shows a FAILURE task with its stacktrace, and retries it once confirmed', async () => {
      const id = (await backend.queueTask('fail', { message: 'shown in the browser' })) as string;
      expect((await backend.waitForTask(id, 30))?.status).to.equal(FAILURE);
      const page = await open(`#/task/${id}`);
      await page.getByTestId('stacktrace').waitFor();
      expect(await page.getByTestId('stacktrace').textContent()).to.match(/Error: shown in the browser\n\s+at /);
      if (process.env.SCREENSHOTS && scheme === 'local') await page.screenshot({ path: path.join(ROOT, 'docs', 'dashboard-task.png'), fullPage: true });
      await page.getByTestId('retry').click();
      await page.getByTestId('confirm-no').click();
      expect(await page.getByTestId('action-message').count()).to.equal(0);
      await page.getByTestId('retry').click();
      await confirmIt(page);
      await page.getByTestId('action-message').waitFor();
      expect(await page.getByTestId('action-message').textContent()).to.match(/^Queued a new run: [0-9A-Za-z]+$/);
      const runs = (await backend.getTasks({ name: 'fail' })).filter((t) => t.meta.retry_of === id);
      expect(runs).to.have.length(1);
      expect(runs[0]?.kwargs).to.deep.equal({ message: 'shown in the browser' });
      await page.close();
    });

    it('finds a task by text in its kwargs among every page, on the server', async () => {
      const marker = `findme-${Math.random().toString(36).slice(2, 8)}`;
      const id = (await backend.queueTask('echo', { message: marker })) as string;
      // Newer tasks push it past the first page: only a search on the server finds it.
      await backend.queueTasks(Array.from({ length: 60 }, (_, a) => ({ jobName: 'addition', kwargs: { a } })));
      const page = await open('#/tasks');
      await page.getByTestId('task-table').waitFor();
      await page.locator('input[name="text"]').fill(marker.toUpperCase());
      await until(async () => (await page.locator('[data-testid="task-table"] tbody tr').count()) === 1);
      expect(await page.locator(`tr[data-task="${id}"]`).count()).to.equal(1);
      await page.close();
    });

    it('revokes a waiting task once confirmed', async () => {
      const id = (await backend.queueTask('addition', { a: 1 }, { delay: 3600 })) as string;
      const page = await open(`#/task/${id}`);
      await page.getByTestId('revoke').click();
      await confirmIt(page);
      await page.getByTestId('action-message').waitFor();
      expect(await page.getByTestId('action-message').textContent()).to.equal('Revoked.');
      expect((await backend.getTask(id))?.status).to.equal(REVOKED);
      await page.close();
    });

    it('refuses to show data or act without the right token', async () => {
      const id = (await backend.queueTask('fail', { message: 'no token' })) as string;
      await backend.waitForTask(id, 30);
      const page = await open(`#/task/${id}`, 'wrong-token');
      await page.getByTestId('token-form').waitFor();
      expect(await page.getByTestId('token-form').textContent()).to.include('needs its token');
      expect(await page.getByTestId('task-error').textContent()).to.match(/Unauthorized/);
      const status = await page.evaluate(async (taskId) => {
        const res = await fetch('/', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'retry_task', params: { id: taskId } }) });
        return res.status;
      }, id);
      expect(status).to.equal(401);
      expect((await backend.getTasks({ name: 'fail' })).filter((t) => t.meta.retry_of === id)).to.have.length(0);
      // With the token typed in, the same page works.
      await page.getByTestId('token-form').locator('input').fill(TOKEN);
      await page.getByTestId('token-form').locator('button').click();
      await page.getByTestId('stacktrace').waitFor();
      await page.close();
      // The refused requests above are logged by the browser as 401s, on purpose: only those go.
      problems.splice(0, problems.length, ...problems.filter((p) => !/status of 401/.test(p)));
    });

    it('lists and filters tasks, shows workers, the supervision tree, periodic jobs and the action forms', async () => {
      const page = await open('#/tasks');
      await page.locator('[data-testid="task-table"] tbody tr').first().waitFor();
      await page.locator('select[name="status"]').selectOption('FAILURE');
      await until(async () => {
        const rows = await page.locator('[data-testid="task-table"] tbody tr').allTextContents();
        return rows.length > 0 && rows.every((r) => r.includes('FAILURE'));
      });
      if (process.env.SCREENSHOTS && scheme === 'local') await page.screenshot({ path: path.join(ROOT, 'docs', 'dashboard-tasks.png') });
      await page.goto(`${rpc.dashboardUrl}#/workers`);
      await page.getByTestId('supervision-tree').waitFor();
      expect(await page.getByTestId('supervision-tree').textContent()).to.match(/Arbiter.*Monitor taskqueue.*Worker taskqueue-w1-.*Monitor rpc/s);
      expect(await page.locator('[data-testid="workers-taskqueue"] tbody tr').count()).to.equal(2);
      expect(await page.locator('[data-testid="workers-taskqueue"] tbody tr').first().textContent()).to.match(/inline.*\d+ s ago$/);
      if (process.env.SCREENSHOTS && scheme === 'local') await page.screenshot({ path: path.join(ROOT, 'docs', 'dashboard-workers.png') });
      await page.goto(`${rpc.dashboardUrl}#/periodic`);
      await page.getByTestId('periodic-table').waitFor();
      expect(await page.getByTestId('periodic-table').textContent()).to.include('testperiodic');
      await page.goto(`${rpc.dashboardUrl}#/actions`);
      // multiply declares its kwargs (a JSON Schema): the form has a field for each one.
      const form = page.getByTestId('queue-form');
      await form.locator('select[name="job"]').selectOption('multiply');
      await form.locator('input[name="kwarg-x"]').fill('6');
      await form.locator('input[name="kwarg-y"]').fill('7');
      await form.locator('button').click();
      await confirmIt(page);
      await page.getByTestId('action-result').waitFor();
      const queued = ((await page.getByTestId('action-result').textContent()) ?? '').replace(/^Queued\s*/, '');
      expect((await backend.waitForTask(queued, 30))?.result).to.equal(42);
      // echo declares none: its kwargs are typed as JSON.
      await form.locator('select[name="job"]').selectOption('echo');
      await form.locator('textarea').fill('{"message": "typed as JSON"}');
      await form.locator('button').click();
      await confirmIt(page);
      await page.getByTestId('action-result').filter({ hasNotText: queued }).waitFor();
      const echoed = ((await page.getByTestId('action-result').textContent()) ?? '').replace(/^Queued\s*/, '');
      expect((await backend.waitForTask(echoed, 30))?.result).to.equal('typed as JSON');
      await page.close();
    });

    it('had no console errors and reached nothing outside the server', () => {
      expect(problems).to.deep.equal([]);
      expect(outside).to.deep.equal([]);
    });
  });
}
