/**
 * The worker child (process or thread): builds its own backend — over IPC to the arbiter's
 * LocalStore for local://, or straight to the store for redis:// — pulls and runs tasks, and
 * sends heartbeats to its Worker actor.
 */
import { isMainThread, parentPort, threadId } from 'node:worker_threads';
import { TaskBackend } from '../src/backend.js';
import { RemoteStore, type StoreMethod, type StoreTransport } from '../src/backends/remote.js';
import '../src/backends/index.js';
import { createStore } from '../src/config.js';
import { errorFromWire } from '../src/error-codec.js';
import { configureLogging, getLogger } from '../src/logger.js';
import { JobRegistry } from '../src/registry.js';
import type { EventListener, TaskStore } from '../src/store.js';
import type { ChildConfig, FromChild, ToChild } from './child-protocol.js';

const send: (message: FromChild) => void = isMainThread
  ? (message) => {
      // With a callback a failed send (parent gone: EPIPE) is not an unhandled 'error' event.
      if (process.connected) process.send?.(message, undefined, {}, () => undefined);
    }
  : (message) => parentPort?.postMessage(message);

const onMessage = (listener: (message: ToChild) => void): void => {
  if (isMainThread) process.on('message', (m) => listener(m as ToChild));
  else parentPort?.on('message', listener);
};

const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
const listeners = new Set<EventListener>();
let nextRid = 1;
let backend: TaskBackend | null = null;
let heartbeat: NodeJS.Timeout | null = null;

/** Store calls cross the IPC channel to the Worker actor, which asks the LocalStore actor. */
const ipcTransport: StoreTransport = {
  call(method: StoreMethod, args: unknown[], timeoutMs: number): Promise<unknown> {
    const rid = nextRid++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(rid);
        reject(new Error(`store call ${method} got no answer from the arbiter within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(rid, { resolve, reject, timer });
      send({ type: 'store_call', rid, method, args });
    });
  },
  async subscribe(listener) {
    if (!listeners.size) send({ type: 'subscribe' });
    listeners.add(listener);
    return async () => {
      listeners.delete(listener);
    };
  },
  async close() {
    for (const p of pending.values()) clearTimeout(p.timer);
  },
};

async function init(config: ChildConfig): Promise<void> {
  configureLogging({ level: config.logLevel, json: config.logJson });
  const log = getLogger(`pulsar.${config.name}.${config.workerId}`);
  const registry = await JobRegistry.load(config.taskPaths, { cwd: config.cwd });
  const store: TaskStore = config.url.startsWith('local:')
    ? new RemoteStore(ipcTransport)
    : createStore(config.url, { name: config.name });
  backend = new TaskBackend(store, {
    name: config.name,
    url: config.url,
    registry,
    concurrentTasks: config.concurrentTasks,
    maxTasks: config.maxTasks,
    pollTimeout: config.pollTimeout,
    leaseTimeout: config.leaseTimeout,
    maxRedeliveries: config.maxRedeliveries,
  });
  const runtime = backend.start({
    id: config.workerId,
    concurrency: isMainThread ? 'process' : 'thread',
    pid: process.pid,
    ...(isMainThread ? {} : { threadId }),
  });
  runtime.on('idle', () => send({ type: 'idle' }));
  runtime.on('stuck', (taskId: string) => send({ type: 'stuck', taskId }));
  const beat = () => send({ type: 'heartbeat', running: runtime.running.size, processed: runtime.processed });
  heartbeat = setInterval(beat, config.heartbeatMs);
  send({ type: 'ready', pid: process.pid, ...(isMainThread ? {} : { threadId }) });
  log.debug('worker ready');
}

async function shutdown(graceMs: number): Promise<void> {
  if (heartbeat) clearInterval(heartbeat);
  if (backend) await backend.close(graceMs / 1000);
  if (isMainThread) {
    // Exit once the last message is flushed; disconnect() with messages pending crashes Node 20.
    if (process.connected) process.send?.({ type: 'stopped' } satisfies FromChild, () => process.exit(0));
    else process.exit(0);
  } else {
    send({ type: 'stopped' });
    parentPort?.close();
    process.exit(0);
  }
}

onMessage((message) => {
  switch (message.type) {
    case 'init':
      init(message.config).catch((err: unknown) => {
        send({ type: 'fatal', message: err instanceof Error ? err.message : String(err) });
        setTimeout(() => process.exit(1), 50);
      });
      break;
    case 'store_reply': {
      const p = pending.get(message.rid);
      if (!p) break;
      pending.delete(message.rid);
      clearTimeout(p.timer);
      if (message.ok) p.resolve(message.value);
      else p.reject(errorFromWire(message.error));
      break;
    }
    case 'event':
      for (const listener of listeners) listener(message.event, message.id);
      break;
    case 'shutdown':
      void shutdown(message.graceMs);
      break;
  }
});

// A process child whose arbiter dies takes its IPC channel with it: stop too.
if (isMainThread) process.on('disconnect', () => setTimeout(() => process.exit(0), 100));
