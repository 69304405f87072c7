// A task's page: everything stored about it, its parent and children, and the actions it allows.
import { useEffect, useState } from '../vendor/hooks.mjs';
import { html } from '../html.js';
import { batch, call } from '../rpc.js';
import { duration, progressFraction, stateName, time } from '../format.js';
import { StateBadge } from './tasks.js';

function TaskLink({ id }) {
  return id ? html`<a href=${`#/task/${id}`}>${id}</a>` : html`<span class="muted">none</span>`;
}

function Progress({ value }) {
  if (value === undefined) return html`<span class="muted">none reported</span>`;
  const fraction = progressFraction(value);
  if (fraction === null) return html`<code>${JSON.stringify(value)}</code>`;
  return html`<span class="progress" data-testid="progress"><span class="bar" style=${`width:${Math.round(fraction * 100)}%`}></span></span> ${Math.floor(fraction * 100)}%`;
}

function Json({ value }) {
  return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
}

export function TaskPage({ id, tick, confirm }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [message, setMessage] = useState(null);

  useEffect(() => {
    batch({ task: ['get_task', { id }], children: ['get_tasks', { from_task: id, limit: 50 }] }).then(
      (d) => {
        setData(d);
        setError(null);
      },
      (err) => setError(err.message),
    );
  }, [id, tick]);

  if (error) return html`<p class="error" data-testid="task-error">${error}</p>`;
  if (!data) return html`<p class="muted">Loading task ${id}…</p>`;
  const t = data.task;
  if (!t) return html`<p class="error">No task ${id}.</p>`;
  const state = stateName(t.status);
  const act = (what, method, done) =>
    confirm(`${what} task ${t.id} (${t.name})?`, () =>
      call(method, { id: t.id }).then(done, (err) => setMessage({ error: true, text: `${what} refused: ${err.message}` })),
    );
  const retry = () => act('Retry', 'retry_task', (newId) => setMessage(newId ? { text: 'Queued a new run: ', id: newId } : { error: true, text: 'Not queued: a run of this job with the same kwargs is not done yet' }));
  const revoke = () => act('Revoke', 'revoke_task', (ok) => setMessage(ok ? { text: 'Revoked.' } : { error: true, text: 'Not revoked: it is no longer waiting' }));
  const meta = { ...t.meta };
  delete meta.progress;
  return html`<section class="card task-page" data-testid="task-page">
    <h2>${t.name} <${StateBadge} status=${t.status} /></h2>
    <p class="mono">${t.id}</p>
    <div class="buttons">
      ${state === 'FAILURE' || state === 'REVOKED' ? html`<button data-testid="retry" onClick=${retry}>Retry</button>` : null}
      ${state === 'QUEUED' || state === 'RETRY' ? html`<button class="danger" data-testid="revoke" onClick=${revoke}>Revoke</button>` : null}
    </div>
    ${message ? html`<p class=${message.error ? 'error' : 'ok'} data-testid="action-message">${message.text}${message.id ? html`<${TaskLink} id=${message.id} />` : null}</p>` : null}
    <dl>
      <dt>queued</dt><dd>${time(t.time_queued)}</dd>
      <dt>started</dt><dd>${time(t.time_started)}</dd>
      <dt>ended</dt><dd>${time(t.time_ended)}${t.time_started && t.time_ended ? ` (ran ${duration(t.time_ended - t.time_started)})` : ''}</dd>
      <dt>worker</dt><dd>${t.worker || html`<span class="muted">none</span>`}</dd>
      <dt>retries</dt><dd>${t.retries} of ${t.max_retries}${t.retry_delay ? `, ${duration(t.retry_delay)} apart` : ''}</dd>
      <dt>redeliveries</dt><dd>${t.redeliveries}</dd>
      <dt>priority</dt><dd>${t.priority}</dd>
      <dt>timeout</dt><dd>${t.timeout ? duration(t.timeout) : 'none'}</dd>
      <dt>expiry</dt><dd>${t.expiry ? time(t.expiry) : 'none'}</dd>
      <dt>progress</dt><dd><${Progress} value=${t.meta.progress} /></dd>
      <dt>queued by</dt><dd><${TaskLink} id=${t.from_task} /></dd>
      ${meta.retry_of ? html`<dt>retry of</dt><dd><${TaskLink} id=${meta.retry_of} /></dd>` : null}
    </dl>
    <h3>kwargs</h3><${Json} value=${t.kwargs} />
    <h3>meta</h3><${Json} value=${meta} />
    <h3>result</h3><${Json} value=${t.result} />
    ${t.stacktrace ? html`<h3>stacktrace</h3><pre class="stacktrace" data-testid="stacktrace">${t.stacktrace}</pre>` : null}
    <h3>children</h3>
    ${data.children.tasks.length
      ? html`<ul>${data.children.tasks.map((c) => html`<li><${TaskLink} id=${c.id} /> ${c.name} <${StateBadge} status=${c.status} /></li>`)}</ul>`
      : html`<p class="muted">none</p>`}
  </section>`;
}
