// Periodic jobs: schedule, next run and last run.
import { html } from '../html.js';
import { duration, time } from '../format.js';

export function Periodic({ live }) {
  if (!live) return html`<p class="muted">Waiting for the server…</p>`;
  const jobs = live.jobs.filter(([, info]) => info.type === 'periodic');
  const now = Date.now() / 1000;
  return html`<section class="card">
    <h2>Periodic jobs</h2>
    ${jobs.length
      ? html`<table data-testid="periodic-table">
          <thead><tr><th>job</th><th>schedule</th><th>next run</th><th>last run</th><th>runs here</th></tr></thead>
          <tbody>${jobs.map(
            ([name, info]) => html`<tr>
              <td>${name}</td>
              <td>${info.cron ? `cron ${info.cron}` : info.run_every ? `every ${duration(info.run_every)}` : ''}</td>
              <td>${info.next_run ? `${time(info.next_run)} (in ${duration(Math.max(0, info.next_run - now))})` : html`<span class="muted">not scheduled here</span>`}</td>
              <td>${live.lastRuns[name] ? time(live.lastRuns[name]) : html`<span class="muted">never</span>`}</td>
              <td>${info.runs_count ?? ''}</td>
            </tr>`,
          )}</tbody>
        </table>`
      : html`<p class="muted">No periodic jobs.</p>`}
  </section>`;
}
