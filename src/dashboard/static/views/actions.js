// Actions on the queue: queue a task (a form), purge ended tasks. Each asks for confirmation.
import { useState } from '../vendor/hooks.mjs';
import { html } from '../html.js';
import { call } from '../rpc.js';

function Result({ result }) {
  if (!result) return null;
  return html`<p class=${result.error ? 'error' : 'ok'} data-testid="action-result">${result.text}${result.id ? html` <a href=${`#/task/${result.id}`}>${result.id}</a>` : null}</p>`;
}

/** How a form field reads a JSON Schema property: number, string, boolean, or JSON for the rest. */
function fieldType(property) {
  const type = Array.isArray(property.type) ? property.type.find((t) => t !== 'null') : property.type;
  if (type === 'number' || type === 'integer') return 'number';
  if (type === 'string' || type === 'boolean') return type;
  return 'json';
}

/** The value typed in a property's field, read as its type says; undefined when left empty. */
function readKwarg(type, raw) {
  if (type === 'boolean') return Boolean(raw);
  if (raw === undefined || raw === '') return undefined;
  if (type === 'number') {
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new Error(`expected a number, got "${raw}"`);
    return n;
  }
  if (type === 'json') return JSON.parse(raw);
  return raw;
}

/** The declared properties of a job's kwargs (its JSON Schema), or null when it declares none. */
function declaredProperties(schema) {
  return schema && typeof schema === 'object' && schema.properties && typeof schema.properties === 'object' ? schema.properties : null;
}

function shownDefault(property) {
  if (property.default === undefined) return '';
  return fieldType(property) === 'json' ? JSON.stringify(property.default) : property.default;
}

/** One input per declared property, prefilled with its default and labelled with its description. */
function DeclaredKwargs({ properties, required, values, onChange }) {
  return Object.entries(properties).map(([name, property]) => {
    const type = fieldType(property);
    const shown = values[name] ?? shownDefault(property);
    const label = `${name}${required.includes(name) ? ' *' : ''}${property.description ? ` (${property.description})` : ''}`;
    if (type === 'boolean') {
      return html`<label class="check"><input type="checkbox" name=${`kwarg-${name}`} checked=${Boolean(shown)} onChange=${(e) => onChange(name, e.target.checked)} /> ${label}</label>`;
    }
    return html`<label>${label} <input name=${`kwarg-${name}`} type=${type === 'number' ? 'number' : 'text'} step="any" value=${shown} onInput=${(e) => onChange(name, e.target.value)} /></label>`;
  });
}

function QueueForm({ jobs, confirm }) {
  const [job, setJob] = useState('');
  const [kwargs, setKwargs] = useState('{}');
  const [fields, setFields] = useState({});
  const [priority, setPriority] = useState('');
  const [delay, setDelay] = useState('');
  const [result, setResult] = useState(null);
  const regular = jobs.filter(([, info]) => info.type === 'regular').map(([name]) => name);
  const chosen = job || regular[0] || '';
  const info = (jobs.find(([name]) => name === chosen) || [])[1] || {};
  const doc = info.doc;
  const properties = declaredProperties(info.kwargs);
  const required = Array.isArray(info.kwargs?.required) ? info.kwargs.required : [];
  const submit = (e) => {
    e.preventDefault();
    let args;
    try {
      if (properties) {
        args = {};
        for (const [name, property] of Object.entries(properties)) {
          const value = readKwarg(fieldType(property), fields[name] ?? shownDefault(property));
          if (value !== undefined) args[name] = value;
        }
      } else {
        args = JSON.parse(kwargs || '{}');
        if (!args || typeof args !== 'object' || Array.isArray(args)) throw new Error('kwargs must be a JSON object');
      }
    } catch (err) {
      setResult({ error: true, text: `Bad kwargs: ${err.message}` });
      return;
    }
    const options = {};
    if (priority !== '') options.priority = Number(priority);
    if (delay !== '') options.delay = Number(delay);
    confirm(`Queue ${chosen} with ${JSON.stringify(args)}?`, () =>
      call('queue_task', { jobname: chosen, kwargs: args, options }).then(
        (id) => setResult(id ? { text: 'Queued', id } : { error: true, text: 'Not queued: a task of this job with the same kwargs is not done yet' }),
        (err) => setResult({ error: true, text: `Refused: ${err.message}` }),
      ),
    );
  };
  return html`<section class="card">
    <h2>Queue a task</h2>
    <form class="form" data-testid="queue-form" onSubmit=${submit}>
      <label>Job <select name="job" value=${chosen} onChange=${(e) => { setJob(e.target.value); setFields({}); }}>${regular.map((j) => html`<option value=${j}>${j}</option>`)}</select></label>
      ${doc ? html`<p class="muted">${doc}</p>` : null}
      ${properties
        ? html`<${DeclaredKwargs} properties=${properties} required=${required} values=${fields} onChange=${(name, value) => setFields({ ...fields, [name]: value })} />`
        : html`<label>kwargs (JSON) <textarea name="kwargs" rows="3" value=${kwargs} onInput=${(e) => setKwargs(e.target.value)}></textarea></label>`}
      <label>Priority <input name="priority" type="number" value=${priority} onInput=${(e) => setPriority(e.target.value)} /></label>
      <label>Delay (s) <input name="delay" type="number" min="0" value=${delay} onInput=${(e) => setDelay(e.target.value)} /></label>
      <button type="submit">Queue</button>
    </form>
    <${Result} result=${result} />
  </section>`;
}

function PurgeForm({ confirm }) {
  const [minutes, setMinutes] = useState('60');
  const [states, setStates] = useState({ SUCCESS: true, FAILURE: false, REVOKED: true });
  const [result, setResult] = useState(null);
  const submit = (e) => {
    e.preventDefault();
    const status = Object.keys(states).filter((s) => states[s]);
    if (!status.length) return setResult({ error: true, text: 'Choose at least one state' });
    const olderThan = Number(minutes) * 60;
    confirm(`Delete every ${status.join('/')} task that ended more than ${minutes} minute(s) ago?`, () =>
      call('purge_tasks', { older_than: olderThan, status }).then(
        (n) => setResult({ text: `Purged ${n} task(s).` }),
        (err) => setResult({ error: true, text: `Refused: ${err.message}` }),
      ),
    );
  };
  return html`<section class="card">
    <h2>Purge ended tasks</h2>
    <form class="form" data-testid="purge-form" onSubmit=${submit}>
      <label>Ended more than <input name="minutes" type="number" min="0" value=${minutes} onInput=${(e) => setMinutes(e.target.value)} /> minutes ago</label>
      ${Object.keys(states).map(
        (s) => html`<label class="check"><input type="checkbox" name=${s} checked=${states[s]} onChange=${(e) => setStates({ ...states, [s]: e.target.checked })} /> ${s}</label>`,
      )}
      <button type="submit" class="danger">Purge</button>
    </form>
    <${Result} result=${result} />
  </section>`;
}

export function Actions({ live, confirm }) {
  if (!live) return html`<p class="muted">Waiting for the server…</p>`;
  return html`<div><${QueueForm} jobs=${live.jobs} confirm=${confirm} /><${PurgeForm} confirm=${confirm} /></div>`;
}
