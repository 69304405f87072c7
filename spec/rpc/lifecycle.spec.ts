/**
 * RpcServer's life: start checks, and a stop that leaves no socket open.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { expect } from 'chai';
import { TaskBackend } from '../../src/producer/backend.js';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { ImproperlyConfigured } from '../../src/model/errors.js';
import { JobRegistry } from '../../src/job/registry.js';
import { RpcServer } from '../../src/rpc/server.js';
import { contextOver, post, resultOf, rpc, startRpc, type RpcHarness } from './support.js';

/** One request on a keep-alive agent; resolves with the socket it used, left open and idle. */
function keepAliveRequest(url: string, agent: http.Agent): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(req.socket as Socket));
    });
    req.on('error', reject);
    req.end(JSON.stringify(rpc('ping')));
  });
}

function requestsSeen(server: RpcServer): number {
  return (server.info() as { requests: number }).requests;
}

/** Resolves once `condition` holds (checked every few ms: the server has no event for it). */
async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('RpcServer lifecycle', () => {
  let h: RpcHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('closes idle keep-alive connections when it stops', async () => {
    h = await startRpc();
    const agent = new http.Agent({ keepAlive: true });
    try {
      const socket = await keepAliveRequest(h.url, agent);
      expect(socket.destroyed).to.equal(false);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      await h.server.stop();
      await closed;
      expect(h.server.address()).to.equal(null);
      expect(h.server.info()).to.include({ listening: false });
    } finally {
      agent.destroy();
    }
  });

  it('stops while a wait_for_task is in flight, cutting it after a short grace', async () => {
    h = await startRpc();
    const id = resultOf<string>(await post(h.url, rpc('queue_task', { jobname: 'asynchronous', lag: 30 })));
    const server = h.server;
    const seen = requestsSeen(server);
    const waiting = post(h.url, rpc('wait_for_task', { id })).then(
      () => 'answered',
      () => 'cut',
    );
    await until(() => requestsSeen(server) > seen, 'the wait_for_task request to reach the server');
    const started = Date.now();
    await server.stop();
    expect(Date.now() - started).to.be.below(10_000);
    expect(await waiting).to.equal('cut');
  });

  it('refuses to start for a TaskQueue the arbiter does not have', async () => {
    const registry = await JobRegistry.load(['jobs/*']);
    const backend = new TaskBackend(new MemoryStore('lifecycle'), { name: 'taskqueue', url: 'local://', registry });
    try {
      const server = new RpcServer({ bind: '127.0.0.1:0', taskqueue: 'other' });
      let error: unknown;
      await server.start(contextOver(backend)).catch((err: unknown) => (error = err));
      expect(error).to.be.instanceOf(ImproperlyConfigured);
      expect((error as Error).message).to.include('"other"');
      expect(server.address()).to.equal(null);
    } finally {
      await backend.close(1);
    }
  });

  it('rejects with a clear error when its port is taken', async () => {
    h = await startRpc();
    const port = h.server.address()?.port;
    let error: unknown;
    try {
      await startRpc({ bind: `127.0.0.1:${port}` });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(ImproperlyConfigured);
    expect((error as Error).message).to.match(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  });

  it('can be stopped twice, and stopping an unstarted server does nothing', async () => {
    h = await startRpc();
    await h.server.stop();
    await h.server.stop();
    await new RpcServer().stop();
  });
});
