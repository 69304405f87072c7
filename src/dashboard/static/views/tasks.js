// The task list: one page at a time from the server, newest first, filtered there by state, job,
// text (in the id, job name or kwargs) and queue time. Refreshed on every poll.
import { useEffect, useState } from '../vendor/hooks.mjs';
import { html } from '../html.js';
import { call } from '../rpc.js';
import { duration, short, stateName, STATES, time } from '../format.js';

const PAGE = 25;
const RANGES = [
  ['', 'any time'],
  ['300', 'last 5 minutes'],
  ['3600', 'last hour'],
  ['86400', 'last 24 hours'],
];

export function StateBadge({ status }) {
  const name = stateName(status);
  return html`<span class=${`badge state-${name.toLowerCase()}`}>${name}</span>`;
}

export function TaskList({ live, tick }) {
  const [status, setStatus] = useState('');
  const [job, setJob] = useState('');
  const [text, setText] = useState('');
  const [since, setSince] = useState('');
  const [cursors, setCursors] = useState([null]);
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const cursor = cursors[cursors.length - 1];

  useEffect(() => {
    const params = {
      limit: PAGE,
      ...(cursor ? { cursor } : {}),
      ...(status ? { status } : {}),
      ...(job ? { name: job } : {}),
      ...(text ? { text } : {}),
      ...(since ? { queued_after: Date.now() / 1000 - Number(since) } : {}),
    };
    call('get_tasks', params).then(
      (p) => {
        setPage(p);
        setError(null);
      },
      (err) => setError(err.message),
    );
  }, [tick, status, job, text, since, cursor]);

  const restart = (set) => (e) => {
    set(e.target.value);
    setCursors([null]);
  };
  const jobs = live ? live.jobs.map(([name]) => name) : [];
  const shown = page ? page.tasks : [];
  return html`<section class="card">
    <h2>Tasks</h2>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>State <select name="status" value=${status} onChange=${restart(setStatus)}>
        <option value="">any</option>
        ${Object.values(STATES).map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
      <label>Job <select name="job" value=${job} onChange=${restart(setJob)}>
        <option value="">any</option>
        ${jobs.map((j) => html`<option value=${j}>${j}</option>`)}
      </select></label>
      <label>Queued <select name="since" value=${since} onChange=${restart(setSince)}>
        ${RANGES.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
      </select></label>
      <label>Text <input name="text" placeholder="id, job or kwargs" value=${text} onInput=${restart(setText)} /></label>
    </form>
    ${error ? html`<p class="error">${error}</p>` : null}
    <table class="tasks" data-testid="task-table">
      <thead><tr><th>id</th><th>job</th><th>state</th><th>queued</th><th>run</th><th>retries</th><th>result</th></tr></thead>
      <tbody>
        ${shown.map(
          (t) => html`<tr key=${t.id} data-task=${t.id}>
            <td><a href=${`#/task/${t.id}`}>${t.id.slice(0, 12)}</a></td>
            <td>${t.name}</td>
            <td><${StateBadge} status=${t.status} /></td>
            <td>${time(t.time_queued)}</td>
            <td>${t.time_started && t.time_ended ? duration(t.time_ended - t.time_started) : ''}</td>
            <td>${t.retries}</td>
            <td class="result">${short(t.result)}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    <div class="pager">
      <button disabled=${cursors.length === 1} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous</button>
      <span class="muted">page ${cursors.length}</span>
      <button disabled=${!page || !page.cursor} onClick=${() => setCursors([...cursors, page.cursor])}>Next</button>
    </div>
  </section>`;
}
