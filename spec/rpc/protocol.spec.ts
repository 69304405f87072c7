/**
 * RpcServer's JSON-RPC 2.0 protocol over real HTTP: errors and their codes, batches,
 * notifications, body limits, and the HTTP verbs and paths around POST /.
 */
import { expect } from 'chai';
import { SUCCESS } from '../../src/model/states.js';
import { errorOf, post, resultOf, rpc, startRpc, type RpcHarness } from './support.js';

describe('RpcServer protocol', () => {
  let h: RpcHarness;

  before(async () => {
    h = await startRpc({ maxBodyBytes: 64 * 1024 });
  });
  after(async () => h?.close());

  describe('errors', () => {
    it('answers queue_task without jobname with -32602', async () => {
      const error = errorOf(await post(h.url, rpc('queue_task', { a: 1 })));
      expect(error.code).to.equal(-32602);
      expect(error.message).to.match(/jobname/);
    });

    it('answers queue_task with kwargs that are not an object with -32602', async () => {
      expect(errorOf(await post(h.url, rpc('queue_task', ['addition', [1, 2]]))).code).to.equal(-32602);
      expect(errorOf(await post(h.url, rpc('queue_task', { jobname: 'addition', meta_data: 'x' }))).code).to.equal(-32602);
      expect(errorOf(await post(h.url, rpc('queue_task', { jobname: 'addition', expiry: -1 }))).code).to.equal(-32602);
    });

    it('answers an unknown job with -32603, "Task <name> is not registered" and data.type TaskNotAvailable', async () => {
      const error = errorOf(await post(h.url, rpc('queue_task', { jobname: 'nosuchjob' })));
      expect(error.code).to.equal(-32603);
      expect(error.message).to.equal('Task nosuchjob is not registered');
      expect(error.data?.type).to.equal('TaskNotAvailable');
    });

    it('answers an unknown method with -32601, keeping the id', async () => {
      const reply = await post(h.url, rpc('no_such_method', undefined, 'abc'));
      expect(errorOf(reply).code).to.equal(-32601);
      expect((reply.body as { id: unknown }).id).to.equal('abc');
    });

    it('never treats inherited object keys as methods', async () => {
      for (const method of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
        expect(errorOf(await post(h.url, rpc(method))).code).to.equal(-32601);
      }
    });

    it('keeps a "__proto__" kwarg a plain kwarg: no prototype is touched', async () => {
      const body = '{"jsonrpc":"2.0","id":1,"method":"queue_task","params":{"jobname":"echo","message":"m","__proto__":{"polluted":true}}}';
      const id = resultOf<string>(await post(h.url, body));
      const task = resultOf<{ kwargs: object }>(await post(h.url, rpc('wait_for_task', { id })));
      expect(Object.getOwnPropertyNames(task.kwargs)).to.include('__proto__');
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });

    it('takes null params as no params', async () => {
      expect(resultOf(await post(h.url, { jsonrpc: '2.0', method: 'ping', params: null, id: 1 }))).to.equal('pong');
    });

    it('answers an unexpected or mistyped param with -32602', async () => {
      expect(errorOf(await post(h.url, rpc('get_task', { id: 'x', extra: 1 }))).code).to.equal(-32602);
      expect(errorOf(await post(h.url, rpc('get_task', { id: 7 }))).code).to.equal(-32602);
      expect(errorOf(await post(h.url, rpc('ping', [1]))).code).to.equal(-32602);
      expect(errorOf(await post(h.url, rpc('get_tasks', { status: 'DONE' }))).code).to.equal(-32602);
    });

    it('answers an unparsable body with -32700 and a null id', async () => {
      const reply = await post(h.url, '{"jsonrpc": "2.0", "method": ');
      expect(reply.status).to.equal(200);
      expect(errorOf(reply).code).to.equal(-32700);
      expect((reply.body as { id: unknown }).id).to.equal(null);
    });

    it('answers a request that is not JSON-RPC 2.0 with -32600', async () => {
      expect(errorOf(await post(h.url, { method: 'ping', id: 1 })).code).to.equal(-32600);
      expect(errorOf(await post(h.url, { jsonrpc: '2.0', method: 5, id: 1 })).code).to.equal(-32600);
      expect(errorOf(await post(h.url, { jsonrpc: '2.0', method: 'ping', params: 'x', id: 1 })).code).to.equal(-32600);
      expect(errorOf(await post(h.url, '42')).code).to.equal(-32600);
      expect(errorOf(await post(h.url, [])).code).to.equal(-32600);
    });
  });

  describe('batches and notifications', () => {
    it('answers a batch of 100 requests, each under its id', async () => {
      const queued = await post(
        h.url,
        Array.from({ length: 100 }, (_, i) => rpc('queue_task', { jobname: 'addition', a: i, b: 1 }, i)),
      );
      const replies = queued.body as { id: number; result: string }[];
      expect(replies).to.have.length(100);
      const ids = new Map(replies.map((r) => [r.id, r.result]));
      const waited = await post(
        h.url,
        Array.from({ length: 100 }, (_, i) => rpc('wait_for_task', { id: ids.get(i), timeout: 30 }, `w${i}`)),
      );
      const tasks = waited.body as { id: string; result: { status: number; result: number } }[];
      expect(tasks).to.have.length(100);
      for (const reply of tasks) {
        const i = Number(reply.id.slice(1));
        expect(reply.result).to.include({ status: SUCCESS, result: i + 1 });
      }
    });

    it('answers each member of a mixed batch on its own, and leaves notifications out', async () => {
      const reply = await post(h.url, [rpc('ping', undefined, 1), { jsonrpc: '2.0', method: 'ping' }, rpc('nope', undefined, 2), 'garbage']);
      const replies = reply.body as { id: unknown; result?: unknown; error?: { code: number } }[];
      expect(replies).to.have.length(3);
      expect(replies.find((r) => r.id === 1)?.result).to.equal('pong');
      expect(replies.find((r) => r.id === 2)?.error?.code).to.equal(-32601);
      expect(replies.find((r) => r.id === null)?.error?.code).to.equal(-32600);
    });

    it('answers a notification, or a batch of notifications only, with an empty 204', async () => {
      const single = await post(h.url, { jsonrpc: '2.0', method: 'ping' });
      expect(single.status).to.equal(204);
      expect(single.body).to.equal(undefined);
      const batch = await post(h.url, [{ jsonrpc: '2.0', method: 'ping' }, { jsonrpc: '2.0', method: 'nope' }]);
      expect(batch.status).to.equal(204);
    });

    it('still runs a notification: a task queued without an id is queued', async () => {
      const before = (await h.backend.getTasks({ name: 'echo' })).length;
      const reply = await post(h.url, { jsonrpc: '2.0', method: 'queue_task', params: { jobname: 'echo', message: 'fire and forget' } });
      expect(reply.status).to.equal(204);
      expect((await h.backend.getTasks({ name: 'echo' })).length).to.equal(before + 1);
    });
  });

  describe('bodies over the limit', () => {
    it('refuses a body over maxBodyBytes with -32600 (HTTP 413) and keeps serving', async () => {
      const big = JSON.stringify(rpc('echo', { message: 'x'.repeat(1024 * 1024) }));
      const reply = await post(h.url, big);
      expect(reply.status).to.equal(413);
      expect(errorOf(reply).code).to.equal(-32600);
      expect(errorOf(reply).message).to.match(/exceeds 65536 bytes/);
      expect(resultOf(await post(h.url, rpc('ping')))).to.equal('pong');
    });

    it('accepts a body just under the limit', async () => {
      const message = 'y'.repeat(60 * 1024);
      expect(resultOf(await post(h.url, rpc('echo', { message })))).to.equal(message);
    });
  });

  describe('HTTP around POST /', () => {
    it('answers GET / with a short JSON hint', async () => {
      const res = await fetch(h.url);
      expect(res.status).to.equal(200);
      const body = (await res.json()) as { methods: string[]; usage: string };
      expect(body.methods).to.include('queue_task');
      expect(body.usage).to.include('POST');
    });

    it('answers other verbs with 405 and other paths with 404', async () => {
      const put = await fetch(h.url, { method: 'PUT', body: '{}' });
      expect(put.status).to.equal(405);
      expect(put.headers.get('allow')).to.equal('GET, POST');
      await put.body?.cancel();
      const other = await fetch(`${h.url}/rpc`, { method: 'POST', body: JSON.stringify(rpc('ping')) });
      expect(other.status).to.equal(404);
      await other.body?.cancel();
    });

    it('tells its url in info()', () => {
      expect(h.server.info()).to.include({ url: h.url, taskqueue: 'taskqueue', listening: true, token_required: false });
      expect(h.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(h.server.address()?.port).to.be.greaterThan(0);
    });
  });
});
