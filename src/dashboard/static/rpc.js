// JSON-RPC from the page to the server that serves it (POST /), with the bearer token the user
// gave (kept for this browser tab only).

const TOKEN_KEY = 'pulsar-tasks-token';

/** The server refused the request: no token, or a wrong one. */
export class Unauthorized extends Error {}

/** A JSON-RPC error answer. */
export class RpcError extends Error {
  constructor(error) {
    super(error.message);
    this.code = error.code;
    this.data = error.data;
  }
}

export function savedToken() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function saveToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

let nextId = 1;

async function post(body) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  const token = savedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch('/', { method: 'POST', headers, body: JSON.stringify(body) });
  if (res.status === 401) throw new Unauthorized('Unauthorized: this server needs its token');
  return res.json();
}

/** Calls one method; resolves to its result, rejects RpcError or Unauthorized. */
export async function call(method, params) {
  const answer = await post({ jsonrpc: '2.0', id: nextId++, method, ...(params === undefined ? {} : { params }) });
  if (answer.error) throw new RpcError(answer.error);
  return answer.result;
}

/** Calls several methods in one request: `{name: [method, params]}` → `{name: result}`. */
export async function batch(calls) {
  const names = Object.keys(calls);
  const first = nextId;
  nextId += names.length;
  const body = names.map((name, i) => {
    const [method, params] = calls[name];
    return { jsonrpc: '2.0', id: first + i, method, ...(params === undefined ? {} : { params }) };
  });
  const answers = await post(body);
  const byId = new Map((Array.isArray(answers) ? answers : [answers]).map((a) => [a.id, a]));
  const out = {};
  names.forEach((name, i) => {
    const answer = byId.get(first + i);
    if (!answer) throw new RpcError({ code: -32603, message: `no answer to ${name}` });
    if (answer.error) throw new RpcError(answer.error);
    out[name] = answer.result;
  });
  return out;
}
