/**
 * RpcServer against web pages in the user's browser: simple cross-site POSTs, foreign origins,
 * DNS rebinding (a foreign Host), and CORS only for the origins the user lists.
 */
import http from 'node:http';
import { expect } from 'chai';
import { ImproperlyConfigured } from '../../src/model/errors.js';
import { RpcServer } from '../../src/rpc/server.js';
import { startRpc, type RpcHarness } from './support.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: { result?: unknown; error?: { code: number; message: string } } | undefined;
}

/** A raw HTTP request (node:http lets a spec set Host and Origin as a browser would). */
function request(url: string, options: { method?: string; headers?: Record<string, string>; body?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'POST', headers: options.headers ?? {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
const json = { 'Content-Type': 'application/json' };

describe('RpcServer against browsers', () => {
  let h: RpcHarness;
  let port: number;
  before(async () => {
    h = await startRpc({ cors: ['https://app.example.com'], allowedHosts: ['queue.internal'] });
    port = h.server.address()!.port;
  });
  after(async () => h?.close());

  it('refuses a text/plain POST (a cross-site form or fetch without preflight) with 415, queueing nothing', async () => {
    const before = (await h.backend.getTasks({ name: 'echo' })).length;
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'queue_task', params: { jobname: 'echo', message: 'x' } });
    const reply = await request(h.url, { headers: { 'Content-Type': 'text/plain' }, body });
    expect(reply.status).to.equal(415);
    expect(reply.body?.error?.message).to.match(/Content-Type: application\/json/);
    const none = await request(h.url, { body });
    expect(none.status).to.equal(415);
    expect((await h.backend.getTasks({ name: 'echo' })).length).to.equal(before);
  });

  it('serves application/json, with a charset too', async () => {
    expect((await request(h.url, { headers: json, body: ping })).body?.result).to.equal('pong');
    const charset = await request(h.url, { headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: ping });
    expect(charset.body?.result).to.equal('pong');
  });

  it('refuses a foreign Origin with 403', async () => {
    const reply = await request(h.url, { headers: { ...json, Origin: 'https://evil.example' }, body: ping });
    expect(reply.status).to.equal(403);
    expect(reply.body?.error?.message).to.match(/origin "https:\/\/evil\.example" are refused.*--rpc-cors/);
    expect(reply.headers['access-control-allow-origin']).to.equal(undefined);
  });

  it('serves its own origin (a page it serves) and the listed ones, with CORS headers for the latter', async () => {
    const own = await request(h.url, { headers: { ...json, Origin: `http://127.0.0.1:${port}` }, body: ping });
    expect(own.body?.result).to.equal('pong');
    const listed = await request(h.url, { headers: { ...json, Origin: 'https://app.example.com' }, body: ping });
    expect(listed.body?.result).to.equal('pong');
    expect(listed.headers['access-control-allow-origin']).to.equal('https://app.example.com');
    expect(listed.headers.vary).to.match(/Origin/);
  });

  it('answers a CORS preflight only for a listed origin', async () => {
    const headers = { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' };
    const ok = await request(h.url, { method: 'OPTIONS', headers });
    expect(ok.status).to.equal(204);
    expect(ok.headers['access-control-allow-origin']).to.equal('https://app.example.com');
    expect(ok.headers['access-control-allow-headers']).to.match(/Content-Type/);
    const foreign = await request(h.url, { method: 'OPTIONS', headers: { ...headers, Origin: 'https://evil.example' } });
    expect(foreign.status).to.equal(403);
    expect(foreign.headers['access-control-allow-origin']).to.equal(undefined);
  });

  it('refuses a foreign Host (DNS rebinding) with 421, even from the same "origin"', async () => {
    const host = `attacker.example:${port}`;
    const reply = await request(h.url, { headers: { ...json, Host: host, Origin: `http://${host}` }, body: ping });
    expect(reply.status).to.equal(421);
    expect(reply.body?.error?.message).to.match(/Host "attacker\.example:\d+" is not served here/);
    const read = await request(h.url, { method: 'GET', headers: { Host: host } });
    expect(read.status).to.equal(421);
  });

  it('serves loopback Host names and the configured ones', async () => {
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `queue.internal:${port}`, 'QUEUE.internal']) {
      const reply = await request(h.url, { headers: { ...json, Host: host }, body: ping });
      expect(reply.body?.result, host).to.equal('pong');
    }
  });

  it('accepts any Host with --rpc-allowed-hosts "*"', async () => {
    const any = await startRpc({ allowedHosts: ['*'] });
    try {
      const reply = await request(any.url, { headers: { ...json, Host: 'anything.example:1' }, body: ping });
      expect(reply.body?.result).to.equal('pong');
    } finally {
      await any.close();
    }
  });

  it('accepts any Host when a token is required (a page cannot forge the token)', async () => {
    const t = await startRpc({ token: 'tok' });
    try {
      const tport = t.server.address()!.port;
      const reply = await request(t.url, { headers: { ...json, Host: `queue.example.com:${tport}`, Authorization: 'Bearer tok' }, body: ping });
      expect(reply.body?.result).to.equal('pong');
    } finally {
      await t.close();
    }
  });

  it('rejects malformed CORS origins and host names at construction, naming them', () => {
    expect(() => new RpcServer({ cors: ['app.example.com'] })).to.throw(ImproperlyConfigured, /Invalid CORS origin "app\.example\.com"/);
    expect(() => new RpcServer({ cors: ['https://app.example.com/path'] })).to.throw(ImproperlyConfigured, /Invalid CORS origin/);
    expect(() => new RpcServer({ allowedHosts: ['bad host'] })).to.throw(ImproperlyConfigured, /Invalid allowed host "bad host"/);
  });
});
