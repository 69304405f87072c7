// Overview: per TaskQueue, counts by state, depth and oldest waiting task, and the throughput chart.
import { html } from '../html.js';
import { ThroughputChart } from '../chart.js';
import { duration } from '../format.js';

function Figure({ label, value, testid, kind = '' }) {
  return html`<div class=${`figure ${kind}`} data-testid=${testid}><div class="value">${value}</div><div class="label">${label}</div></div>`;
}

function failureRate(series) {
  const recent = series.slice(-30);
  const failed = recent.reduce((n, b) => n + b.failed, 0);
  const ended = recent.reduce((n, b) => n + b.succeeded + b.failed + b.revoked, 0);
  return ended ? `${Math.round((100 * failed) / ended)}%` : '–';
}

function QueueCard({ queue }) {
  const totals = queue.totals;
  const id = (what) => `${queue.name}-${what}`;
  return html`<section class="card" data-testid=${`queue-${queue.name}`}>
    <h2>TaskQueue ${queue.name}</h2>
    <div class="figures">
      <${Figure} label="queued (depth)" value=${queue.depth} testid=${id('depth')} />
      <${Figure} label="running" value=${queue.in_flight ?? '–'} testid=${id('running')} />
      <${Figure} label="oldest waiting" value=${queue.oldest_waiting ? duration(queue.oldest_waiting) : '–'} testid=${id('oldest')} />
      <${Figure} label="workers" value=${queue.workers_alive ?? '–'} testid=${id('workers')} />
    </div>
    ${totals
      ? html`<h3>Since counting started</h3>
          <div class="figures">
            <${Figure} label="queued" value=${totals.queued} testid=${id('queued')} />
            <${Figure} label="succeeded" value=${totals.succeeded} testid=${id('succeeded')} kind="ok" />
            <${Figure} label="failed" value=${totals.failed} testid=${id('failed')} kind="bad" />
            <${Figure} label="revoked" value=${totals.revoked} testid=${id('revoked')} />
            <${Figure} label="retried" value=${totals.retried} testid=${id('retried')} />
            <${Figure} label="redelivered" value=${totals.redelivered} testid=${id('redelivered')} />
            <${Figure} label="failure rate (5 min)" value=${failureRate(queue.series)} testid=${id('failure-rate')} />
          </div>
          <h3>Throughput, last 15 minutes</h3>
          <${ThroughputChart} series=${queue.series} />`
      : html`<p class="muted">This TaskQueue's monitor runs in another process: no totals or throughput here.</p>`}
  </section>`;
}

export function Overview({ live }) {
  if (!live) return html`<p class="muted">Waiting for the server…</p>`;
  return html`<div>${live.stats.queues.map((q) => html`<${QueueCard} key=${q.name} queue=${q} />`)}</div>`;
}
