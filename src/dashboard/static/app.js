// The dashboard's shell: navigation (by URL hash), the token form, the confirmation dialog, and
// the live data every view shares, polled from the server every two seconds.
import { render } from './vendor/preact.mjs';
import { useCallback, useEffect, useState } from './vendor/hooks.mjs';
import { html } from './html.js';
import { batch, savedToken, saveToken, Unauthorized } from './rpc.js';
import { Overview } from './views/overview.js';
import { TaskList } from './views/tasks.js';
import { TaskPage } from './views/task.js';
import { Workers } from './views/workers.js';
import { Periodic } from './views/periodic.js';
import { Actions } from './views/actions.js';

/** Milliseconds between two polls. */
const POLL_MS = 2000;

const TABS = [
  ['overview', 'Overview'],
  ['tasks', 'Tasks'],
  ['workers', 'Workers'],
  ['periodic', 'Periodic jobs'],
  ['actions', 'Actions'],
];

function currentRoute() {
  const [view = 'overview', arg = ''] = location.hash.replace(/^#\/?/, '').split('/');
  return { view, arg: decodeURIComponent(arg) };
}

function TokenForm({ onSave, refused }) {
  const [value, setValue] = useState('');
  return html`<form class="token" data-testid="token-form" onSubmit=${(e) => {
    e.preventDefault();
    onSave(value.trim());
  }}>
    <span class=${refused ? 'error' : 'muted'}>${refused ? 'This server needs its token (or the one given is wrong).' : 'Token'}</span>
    <input type="password" name="token" placeholder="bearer token" value=${value} onInput=${(e) => setValue(e.target.value)} />
    <button type="submit">Use token</button>
  </form>`;
}

function ConfirmDialog({ request, onClose }) {
  if (!request) return null;
  return html`<div class="modal" role="dialog" aria-modal="true" data-testid="confirm">
    <div class="modal-box">
      <p>${request.message}</p>
      <div class="buttons">
        <button class="danger" data-testid="confirm-yes" onClick=${() => { onClose(); request.onConfirm(); }}>Confirm</button>
        <button data-testid="confirm-no" onClick=${onClose}>Cancel</button>
      </div>
    </div>
  </div>`;
}

function App() {
  const [route, setRoute] = useState(currentRoute());
  const [live, setLive] = useState(null);
  const [error, setError] = useState(null);
  const [refused, setRefused] = useState(false);
  const [tick, setTick] = useState(0);
  const [confirmRequest, setConfirmRequest] = useState(null);

  useEffect(() => {
    const onHash = () => setRoute(currentRoute());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  const poll = useCallback(async () => {
    try {
      const data = await batch({
        info: ['server_info'],
        stats: ['queue_stats'],
        jobs: ['job_list'],
        lastRuns: ['last_runs'],
      });
      setLive(data);
      setError(null);
      setRefused(false);
    } catch (err) {
      if (err instanceof Unauthorized) setRefused(true);
      else setError(err.message);
    }
    setTick((t) => t + 1);
  }, []);

  useEffect(() => {
    poll();
    const timer = setInterval(poll, POLL_MS);
    return () => clearInterval(timer);
  }, [poll]);

  const confirm = (message, onConfirm) => setConfirmRequest({ message, onConfirm });
  const props = { live, tick, confirm, refresh: poll };
  const { view, arg } = route;
  let page;
  if (view === 'task') page = html`<${TaskPage} id=${arg} ...${props} />`;
  else if (view === 'tasks') page = html`<${TaskList} ...${props} />`;
  else if (view === 'workers') page = html`<${Workers} ...${props} />`;
  else if (view === 'periodic') page = html`<${Periodic} ...${props} />`;
  else if (view === 'actions') page = html`<${Actions} ...${props} />`;
  else page = html`<${Overview} ...${props} />`;

  return html`<header>
      <h1>pulsar-tasks</h1>
      <nav>${TABS.map(([key, label]) => html`<a href=${`#/${key}`} class=${view === key ? 'active' : ''}>${label}</a>`)}</nav>
      <span class="status" data-testid="live-status">${error ? `error: ${error}` : live ? 'live' : 'connecting…'}</span>
      ${refused || savedToken() ? html`<${TokenForm} refused=${refused} onSave=${(t) => { saveToken(t); poll(); }} />` : null}
    </header>
    <main>${page}</main>
    <${ConfirmDialog} request=${confirmRequest} onClose=${() => setConfirmRequest(null)} />`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
