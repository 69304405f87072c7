/**
 * `pulsar-tasks serve --dashboard` and `--no-metrics` as a user runs them: where the dashboard
 * is, what it serves, and the flags that cannot go together.
 */
import { expect } from 'chai';
import { runCli, startServe, type ServeChild } from './support.js';

describe('pulsar-tasks serve --dashboard', () => {
  let served: ServeChild | undefined;
  afterEach(async () => {
    await served?.stop();
    served = undefined;
  });

  it('logs the dashboard URL and serves its page, its vendored modules and /metrics behind the token', async () => {
    served = await startServe(['--task-paths', 'jobs/*', '--rpc-bind', '127.0.0.1:0', '--workers', '0', '--dashboard', '--rpc-token', 'tok']);
    expect(served.output()).to.include(`dashboard at ${served.url}/dashboard/`);
    const page = await fetch(`${served.url}/dashboard/`);
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-security-policy')).to.include("script-src 'self'");
    expect(await page.text()).to.include('<script type="module" src="app.js">');
    for (const file of ['app.js', 'vendor/preact.mjs', 'vendor/hooks.mjs', 'vendor/htm.mjs', 'vendor/uplot.mjs', 'vendor/uplot.css']) {
      const res = await fetch(`${served.url}/dashboard/${file}`);
      expect(res.status, file).to.equal(200);
      expect(await res.text(), file).to.not.match(/from\s*["']preact["']/);
    }
    expect((await fetch(`${served.url}/dashboard/../package.json`)).status).to.not.equal(200);
    expect((await fetch(`${served.url}/metrics`)).status).to.equal(401);
    const metrics = await fetch(`${served.url}/metrics`, { headers: { Authorization: 'Bearer tok' } });
    expect(metrics.status).to.equal(200);
    expect(await metrics.text()).to.include('# TYPE pulsar_tasks_queued_total counter');
  });

  it('serves no dashboard without the flag, and no /metrics with --no-metrics', async () => {
    served = await startServe(['--task-paths', 'jobs/*', '--rpc-bind', '127.0.0.1:0', '--workers', '0', '--no-metrics']);
    expect(served.output()).to.not.include('dashboard at');
    expect((await fetch(`${served.url}/dashboard/`)).status).to.equal(404);
    expect((await fetch(`${served.url}/metrics`)).status).to.equal(404);
  });

  it('refuses --dashboard with --no-rpc in one line', async () => {
    const run = await runCli(['serve', '--no-rpc', '--dashboard']);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.equal('error: --dashboard needs the JSON-RPC server: it cannot be used with --no-rpc\n');
  });
});
