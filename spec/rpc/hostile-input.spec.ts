/**
 * RpcServer against hostile params: times and durations out of range, oversized and deeply nested
 * kwargs, batches with a poisonous item, endless waits. Each is a -32602 naming the problem,
 * nothing invalid is stored, and the listings keep working for everyone.
 */
import { expect } from 'chai';
import { getLogger, logSettings } from '../../src/infra/logger.js';
import { BackendUnavailable } from '../../src/model/errors.js';
import { dispatchBody } from '../../src/rpc/dispatch.js';
import { RequestErrorLog } from '../../src/rpc/error-log.js';
import type { CallContext } from '../../src/rpc/methods.js';
import { errorOf, post, resultOf, rpc, startRpc, type RpcHarness } from './support.js';

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('RpcServer against hostile params', () => {
  let h: RpcHarness;
  before(async () => {
    h = await startRpc({ maxWaiters: 2 });
  });
  after(async () => h?.close());

  async function stored(): Promise<number> {
    return (await h.backend.getTasks()).length;
  }

  it('refuses an expiry far in the future (1e13, 1e308) with -32602 naming it, and stores nothing', async () => {
    const before = await stored();
    for (const expiry of [1e13, 1e308, 400_000_000]) {
      const reply = await post(h.url, rpc('queue_task', { jobname: 'echo', expiry }));
      expect(reply.status).to.equal(200);
      expect(errorOf(reply).code, String(expiry)).to.equal(-32602);
      expect(errorOf(reply).message).to.match(/expiry must be at most 315360000 seconds \(10 years\)/);
    }
    expect(await stored()).to.equal(before);
    expect(resultOf<unknown[]>(await post(h.url, rpc('get_tasks', {})))).to.be.an('array');
  });

  it('refuses kwargs nested deeper than 64 levels with -32602 (not a RangeError)', async () => {
    const reply = await post(h.url, rpc('queue_task', { jobname: 'echo', message: nested(3000) }));
    expect(errorOf(reply).code).to.equal(-32602);
    expect(errorOf(reply).message).to.match(/nests deeper than 64 levels/);
  });

  it('answers a batch per item when one item is poisonous', async () => {
    const reply = await post(h.url, [
      rpc('ping', undefined, 1),
      rpc('queue_task', { jobname: 'echo', message: nested(3000) }, 2),
      rpc('queue_task', { jobname: 'echo', message: 'fine' }, 3),
    ]);
    expect(reply.status).to.equal(200);
    const [a, b, c] = reply.body as { id: number; result?: unknown; error?: { code: number } }[];
    expect(a?.result).to.equal('pong');
    expect(b?.error?.code).to.equal(-32602);
    expect(c?.result).to.be.a('string');
  });

  it('refuses kwargs over maxArgumentBytes with -32602 naming the limit', async () => {
    const before = await stored();
    const reply = await post(h.url, rpc('queue_task', { jobname: 'echo', message: 'x'.repeat(300 * 1024) }));
    expect(errorOf(reply).code).to.equal(-32602);
    expect(errorOf(reply).message).to.match(/over 256 KiB as JSON \(maxArgumentBytes\)/);
    const meta = await post(h.url, rpc('queue_task', { jobname: 'echo', meta_data: { blob: 'y'.repeat(300 * 1024) } }));
    expect(errorOf(meta).message).to.match(/maxArgumentBytes/);
    expect(await stored()).to.equal(before);
  });

  it('refuses a wait_for_task timeout beyond 300 s (2^31 ms overflowed the timer) naming it', async () => {
    const id = resultOf<string>(await post(h.url, rpc('queue_task', { jobname: 'echo', message: 'w' })));
    for (const timeout of [2 ** 31, 301, 1e308]) {
      const reply = await post(h.url, rpc('wait_for_task', { id, timeout }));
      expect(errorOf(reply).code, String(timeout)).to.equal(-32602);
      expect(errorOf(reply).message).to.match(/"timeout" must be at most 300 seconds/);
    }
    const done = resultOf<{ status: number }>(await post(h.url, rpc('wait_for_task', { id, timeout: 60 })));
    expect(done.status).to.equal(1);
  });

  it('caps the requests waiting at once (maxWaiters) and frees a slot when a wait ends', async () => {
    // Queued into the far future: these tasks stay QUEUED while the waits run.
    const ids = await Promise.all([0, 1, 2].map(() => h.backend.queueTask('echo', { message: 'later' }, { delay: 3600 })));
    const waits = ids.slice(0, 2).map((id) => post(h.url, rpc('wait_for_task', { id, timeout: 2 })));
    // Both slots are taken once the server counts them.
    for (let i = 0; i < 200 && (h.server.info() as { waiting: number }).waiting < 2; i++) await new Promise((r) => setImmediate(r));
    expect((h.server.info() as { waiting: number }).waiting).to.equal(2);
    const third = await post(h.url, rpc('wait_for_task', { id: ids[2], timeout: 1 }));
    expect(errorOf(third).code).to.equal(-32002);
    expect(errorOf(third).message).to.match(/Server busy: 2 requests are already waiting/);
    for (const reply of await Promise.all(waits)) expect(errorOf(reply).data?.type).to.equal('TaskTimeoutError');
    expect((h.server.info() as { waiting: number }).waiting).to.equal(0);
    const again = await post(h.url, rpc('wait_for_task', { id: ids[2], timeout: 0.1 }));
    expect(errorOf(again).data?.type).to.equal('TaskTimeoutError');
    for (const id of ids) await h.backend.revokeTask(id!);
  });

  it('leaves an undecodable stored task out of get_tasks instead of failing the listing', async () => {
    const good = resultOf<string>(await post(h.url, rpc('queue_task', { jobname: 'echo', message: 'ok' })));
    const [wire] = await h.backend.store.get([good]);
    // Not due for an hour: only the listing meets it, not the worker.
    const eta = Date.now() / 1000 + 3600;
    await h.backend.store.queue([{ ...wire!, id: 'broken-task', status: 6, eta, expiry: 'tomorrow' as unknown as number }]);
    const listed = resultOf<{ id: string }[]>(await post(h.url, rpc('get_tasks', {})));
    expect(listed.map((t) => t.id)).to.include(good);
    expect(listed.map((t) => t.id)).to.not.include('broken-task');
    await h.backend.revokeTask('broken-task');
  });
});

describe('RpcServer logs during a backend outage', () => {
  it('answers -32603 naming the outage and logs nothing above debug (the store logs the outage once)', async () => {
    const lines: string[] = [];
    const saved = { ...logSettings };
    Object.assign(logSettings, { level: 'info', json: false, write: (line: string) => lines.push(line) });
    try {
      const down = (): never => {
        throw new BackendUnavailable('Redis redis://127.0.0.1:1/0 is unavailable: connect ECONNREFUSED');
      };
      const call = { queue: down, app: {} as CallContext['app'], requestMeta: () => ({}), waitSlot: () => () => undefined } as CallContext;
      const log = new RequestErrorLog(getLogger('spec.outage'));
      for (let i = 0; i < 20; i++) {
        const reply = (await dispatchBody(JSON.stringify(rpc('num_tasks')), call, log)) as { error: { code: number; message: string } };
        expect(reply.error.code).to.equal(-32603);
        expect(reply.error.message).to.match(/is unavailable/);
      }
    } finally {
      Object.assign(logSettings, saved);
    }
    expect(lines).to.deep.equal([]);
  });
});
