/**
 * Helpers of the RPC specs: an RpcServer on a free loopback port over a hand-made AppContext
 * (a producer TaskBackend answering its QueueApi, and an inline worker on a second TaskBackend
 * sharing the same MemoryStore), and raw HTTP posts.
 */
import type { AppContext } from '../../src/app/app.js';
import { TaskBackend } from '../../src/producer/backend.js';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { ImproperlyConfigured } from '../../src/model/errors.js';
import { getLogger } from '../../src/infra/logger.js';
import { backendQueueApi } from '../../src/app/queue-api.js';
import { JobRegistry } from '../../src/job/registry.js';
import { RpcServer, type RpcServerOptions } from '../../src/rpc/server.js';
import { startWorker } from '../../src/worker/worker-runtime.js';

/** A running server and what it stands on; `close()` in an after hook. */
export interface RpcHarness {
  server: RpcServer;
  url: string;
  backend: TaskBackend;
  context: AppContext;
  close(): Promise<void>;
}

let counter = 0;

/** A hand-made AppContext over `backend`, with one TaskQueue named `taskqueue`. */
export function contextOver(backend: TaskBackend): AppContext {
  const api = backendQueueApi(backend);
  return {
    queue: (name) => {
      if (name !== 'taskqueue') throw new ImproperlyConfigured(`no TaskQueue named "${name}"`);
      return api;
    },
    queueNames: () => ['taskqueue'],
    serverInfo: async () => ({ arbiter: { name: 'spec', pid: process.pid }, apps: { taskqueue: await api.info() } }),
    logger: getLogger('spec.rpc'),
  };
}

/** Starts an RpcServer on 127.0.0.1 (a free port) with an inline worker running `jobs/*`. */
export async function startRpc(options: RpcServerOptions = {}): Promise<RpcHarness> {
  const registry = await JobRegistry.load(['jobs/*']);
  const store = new MemoryStore(`rpcspec${++counter}`);
  const settings = { name: 'taskqueue', url: 'local://', registry };
  const backend = new TaskBackend(store, settings);
  const workerBackend = new TaskBackend(store, settings);
  startWorker(workerBackend, { id: 'w1', concurrency: 'inline', pid: process.pid });
  const context = contextOver(backend);
  const server = new RpcServer({ bind: '127.0.0.1:0', ...options });
  try {
    await server.start(context);
  } catch (err) {
    await workerBackend.close(1);
    await backend.close(1);
    throw err;
  }
  return {
    server,
    url: server.url,
    backend,
    context,
    close: async () => {
      await server.stop();
      await workerBackend.close(1);
      await backend.close(1);
    },
  };
}

/** What a raw POST got back. */
export interface RawReply {
  status: number;
  headers: Headers;
  /** Parsed JSON body, or undefined for an empty one. */
  body: unknown;
}

/** POSTs `body` (an object is sent as JSON, a string as it is) and reads the reply. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<RawReply> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/** A JSON-RPC call object. */
export function rpc(method: string, params?: unknown, id: number | string | null = 1): Record<string, unknown> {
  return params === undefined ? { jsonrpc: '2.0', method, id } : { jsonrpc: '2.0', method, params, id };
}

/** The `error` member of a reply body, typed for assertions. */
export function errorOf(reply: RawReply): { code: number; message: string; data?: { type?: string } } {
  return (reply.body as { error: { code: number; message: string; data?: { type?: string } } }).error;
}

/** The `result` member of a reply body. */
export function resultOf<T>(reply: RawReply): T {
  const body = reply.body as { result?: T; error?: unknown };
  if (body.error) throw new Error(`expected a result, got ${JSON.stringify(body.error)}`);
  return body.result as T;
}
