// Workers of every TaskQueue, and the supervision tree: arbiter → monitors → workers.
import { html } from '../html.js';
import { duration } from '../format.js';

function queues(info) {
  return Object.entries(info.apps).filter(([, app]) => app && Array.isArray(app.workers));
}

function Tree({ info }) {
  const arbiter = info.arbiter || {};
  return html`<ul class="tree" data-testid="supervision-tree">
    <li><strong>Arbiter</strong> <span class="muted">pid ${arbiter.pid ?? '?'}</span>
      <ul>
        ${Object.entries(info.apps).map(
          ([name, app]) => html`<li><strong>Monitor ${name}</strong> <span class="muted">${Array.isArray(app.workers) ? `TaskQueue, ${app.concurrency} workers` : 'service'}</span>
            ${Array.isArray(app.workers) && app.workers.length
              ? html`<ul>${app.workers.map((w) => html`<li>Worker ${w.id} <span class="muted">pid ${w.pid ?? '?'}${w.thread ? `, thread ${w.thread}` : ''}</span></li>`)}</ul>`
              : null}
          </li>`,
        )}
      </ul>
    </li>
  </ul>`;
}

export function Workers({ live }) {
  if (!live) return html`<p class="muted">Waiting for the server…</p>`;
  return html`<div>
    ${queues(live.info).map(
      ([name, app]) => html`<section class="card">
        <h2>Workers of ${name}</h2>
        <p class="muted">${app.restarts} restart(s) in the current restart period${app.lost ? `; ${app.lost} deliveries lost to another worker` : ''}${app.monitor_consumes ? '; the monitor runs tasks itself' : ''}</p>
        <table data-testid=${`workers-${name}`}>
          <thead><tr><th>id</th><th>mode</th><th>pid</th><th>running</th><th>processed</th><th>lost</th><th>age</th><th>last heartbeat</th></tr></thead>
          <tbody>${app.workers.map(
            (w) => html`<tr><td>${w.id}</td><td>${w.concurrency}</td><td>${w.pid ?? ''}${w.thread ? ` / thread ${w.thread}` : ''}</td><td>${w.running}</td><td>${w.processed}</td><td>${w.lost ?? ''}</td><td>${duration(w.age)}</td><td>${w.last_heartbeat ? `${duration(Math.max(0, Date.now() / 1000 - w.last_heartbeat))} ago` : ''}</td></tr>`,
          )}</tbody>
        </table>
      </section>`,
    )}
    <section class="card"><h2>Supervision tree</h2><${Tree} info=${live.info} /></section>
  </div>`;
}
