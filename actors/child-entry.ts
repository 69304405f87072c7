/**
 * The worker child (process or thread): builds its own backend — over IPC to the arbiter's
 * LocalStore for local://, or straight to the store for redis:// — pulls and runs tasks, and
 * sends heartbeats to its Worker actor.
 */
import { isMainThread, parentPort, threadId } from 'node:worker_threads';
import { TaskBackend } from '../src/producer/backend.js';
import { RemoteStore, type StoreMethod, type StoreTransport } from '../src/backends/remote.js';
import { CallTable } from '../src/backends/call-table.js';
import { createStore } from '../src/store/schemes.js';
import { errorFromWire } from '../src/model/error-codec.js';
import { configureLogging, getLogger } from '../src/infra/logger.js';
import { JobRegistry } from '../src/job/registry.js';
import type { TaskStore } from '../src/store/contract.js';
import type { ChildConfig, FromChild, RunNote, StoreCall, ToChild } from './child-protocol.js';
import { TurnBatcher } from '../src/infra/turn-batcher.js';
import type { RunInfo } from '../src/worker/worker-runtime.js';
import { startWorker } from '../src/worker/worker-runtime.js';
import { packArgs, unpackDeliveries, type PackedDelivery } from './task-pack.js';
import { ChildBackend, EventGate, storeUpstream, type EventUpstream } from './child-events.js';

const post: (message: FromChild) => void = isMainThread
  ? (message) => {
      // With a callback a failed send (parent gone: EPIPE) is not an unhandled 'error' event.
      if (process.connected) process.send?.(message, undefined, {}, () => undefined);
    }
  : (message) => parentPort?.postMessage(message);

/** Store calls of one event-loop turn leave as one message (see child-protocol.ts). */
const outbox = new TurnBatcher<StoreCall>((calls) => post({ type: 'store_calls', calls }));

/**
 * Runs with a timeout are timed by the parent (see run-watch.ts); runs without one cost nothing.
 * A `run` note leaves at once, before the job runs: a job that blocks the event loop would hold a
 * batched note back. `settled` notes of one turn travel together. Neither flushes the store calls
 * (the parent needs no order between them, and flushing would split the store calls' batches).
 */
const timed = new Set<string>();
const settledNotes = new TurnBatcher<RunNote>((notes) => post({ type: 'runs', notes }));

/** Any other message: pending store calls go first, so the parent sees them in the order made. */
const send = (message: FromChild): void => {
  outbox.flushNow();
  post(message);
};

const onMessage = (listener: (message: ToChild) => void): void => {
  if (isMainThread) process.on('message', (m) => listener(m as ToChild));
  else parentPort?.on('message', listener);
};

/** Calls waiting for the arbiter's answer, by request id (one timer for all their deadlines). */
const pending = new CallTable((what, ms) => new Error(`store call ${what} got no answer from the arbiter within ${ms} ms`));
let backend: TaskBackend | null = null;
let gate: EventGate | null = null;
let heartbeat: NodeJS.Timeout | null = null;

/**
 * local://: the Worker actor is the upstream of this child's events; it answers a (un)subscribe
 * as it answers store calls, by request id.
 */
const ipcEvents = (): EventUpstream => ({
  async subscribe(events) {
    const { rid, answer } = pending.add('subscribe', 10_000);
    send({ type: 'subscribe', rid, events });
    await answer;
  },
  async unsubscribe() {
    const { rid, answer } = pending.add('unsubscribe', 10_000);
    send({ type: 'unsubscribe', rid });
    await answer;
  },
});

/** Store calls cross the IPC channel to the Worker actor, which asks the LocalStore actor. */
const ipcTransport: StoreTransport = {
  call(method: StoreMethod, args: unknown[], timeoutMs: number): Promise<unknown> {
    const { rid, answer } = pending.add(method, timeoutMs);
    outbox.push({ rid, method, args: packArgs(method, args) });
    return method === 'pull' ? answer.then((value) => unpackDeliveries(value as PackedDelivery[])) : answer;
  },
  subscribe() {
    return Promise.reject(new Error('the events of a worker child go through its EventGate'));
  },
  async close() {
    pending.close();
  },
};

async function init(config: ChildConfig): Promise<void> {
  configureLogging({ level: config.logLevel, json: config.logJson });
  const log = getLogger(`pulsar.${config.name}.${config.workerId}`);
  const registry = await JobRegistry.load(config.taskPaths, { cwd: config.cwd });
  const local = config.url.startsWith('local:');
  // The built-in store schemes (ioredis, ~25 MiB of RSS) only for a child that needs one.
  if (!local) await import('../src/backends/index.js');
  const store: TaskStore = local ? new RemoteStore(ipcTransport) : createStore(config.url, { name: config.name });
  gate = new EventGate(local ? ipcEvents : storeUpstream(store));
  backend = new ChildBackend(store, {
    name: config.name,
    url: config.url,
    registry,
    concurrentTasks: config.concurrentTasks,
    maxTasks: config.maxTasks,
    pollTimeout: config.pollTimeout,
    leaseTimeout: config.leaseTimeout,
    maxRedeliveries: config.maxRedeliveries,
    limits: config.limits,
  }, gate);
  const runtime = startWorker(
    backend,
    {
      id: config.workerId,
      concurrency: isMainThread ? 'process' : 'thread',
      pid: process.pid,
      ...(isMainThread ? {} : { threadId }),
    },
    { stuckGrace: config.stuckGrace },
  );
  runtime.on('idle', () => send({ type: 'idle' }));
  runtime.on('run', (info: RunInfo) => {
    if (info.timeoutMs === null) return;
    timed.add(`${info.id}#${info.token}`);
    post({ type: 'runs', notes: [{ kind: 'run', id: info.id, name: info.name, token: info.token, startedAtMs: info.startedAtMs, timeoutMs: info.timeoutMs }] });
  });
  runtime.on('settled', (id: string, token: number) => {
    if (timed.delete(`${id}#${token}`)) settledNotes.push({ kind: 'settled', id, token });
  });
  const beat = () => send({ type: 'heartbeat', running: runtime.running.size, processed: runtime.processed, lost: runtime.lost });
  heartbeat = setInterval(beat, config.heartbeatMs);
  send({ type: 'ready', pid: process.pid, ...(isMainThread ? {} : { threadId }) });
  log.debug('worker ready');
}

async function shutdown(graceMs: number): Promise<void> {
  if (heartbeat) clearInterval(heartbeat);
  if (backend) await backend.close(graceMs / 1000);
  if (isMainThread) {
    // Exit once the last message is flushed; disconnect() with messages pending crashes Node 20.
    outbox.flushNow();
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
    case 'store_replies':
      for (const reply of message.replies) {
        if (reply.ok) pending.resolve(reply.rid, reply.value);
        else pending.reject(reply.rid, errorFromWire(reply.error));
      }
      break;
    case 'events':
      gate?.received(message.events.length);
      for (const { event, id } of message.events) gate?.deliver(event, id);
      break;
    case 'shutdown':
      void shutdown(message.graceMs);
      break;
  }
});

if (isMainThread) {
  // A process child whose arbiter dies takes its IPC channel with it: stop too.
  process.on('disconnect', () => setTimeout(() => process.exit(0), 100));
  // Signals meant for the arbiter (a terminal's Ctrl-C to the group, systemd's SIGTERM to the
  // cgroup) must not kill running tasks: the arbiter stops its workers itself, with a grace.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
}
