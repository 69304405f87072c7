/**
 * The Worker actor: the arbiter's side of one worker. In process and thread mode it owns the
 * child and bridges its IPC to the LocalStore actor's mailbox (local://); in inline mode it runs
 * the worker runtime itself, in the arbiter's event loop. Either way it reports to its monitor.
 */
import { TaskBackend } from '../src/producer/backend.js';
import { createStore } from '../src/store/schemes.js';
import { getLogger, logSettings } from '../src/infra/logger.js';
import type { JobRegistry } from '../src/job/registry.js';
import type { TaskEvent, TaskStore } from '../src/store/contract.js';
import { errorToWire } from '../src/model/error-codec.js';
import type { Concurrency, TaskQueueSettings, WorkerView } from '../src/app/taskqueue.js';
import { forkChild, spawnThread, type ChildHandle } from './child.js';
import { revokeOverdue, RunWatch, type WatchedRun } from './run-watch.js';
import type { FromChild, StoreReply } from './child-protocol.js';
import { storeBridge } from './store-bridge.js';
import { localStoreClient } from './local-store.js';
import { assertNever, type LocalStoreMessage, type MonitorMessage, type WorkerMessage } from './protocol.js';
import { askReply, spawnHandler, stopActor, tell, type TypedRef } from './refs.js';
import type { ExitReason } from './supervision.js';
import { startWorker } from '../src/worker/worker-runtime.js';

/** What a Worker actor needs. */
export interface WorkerSpec {
  id: string;
  mode: Concurrency;
  settings: TaskQueueSettings;
  registry: JobRegistry;
  pollTimeout: number;
  heartbeatMs: number;
  monitor: TypedRef<MonitorMessage>;
  /** local:// only: the LocalStore actor. */
  localStore: TypedRef<LocalStoreMessage> | null;
  /**
   * The parent's store (the monitor's): the Worker actor writes through it what its child cannot,
   * the outcome of a run it killed, and hands back the tasks of a child it stopped.
   */
  store: TaskStore;
}

/** A spawned Worker actor and what the monitor knows of it. */
export interface WorkerHandle {
  ref: TypedRef<WorkerMessage>;
  view: WorkerView;
  lastHeartbeat: number;
  /** Set once the worker reported ready: until then its start may take `bootTimeout`, not `timeout`. */
  ready: boolean;
  /**
   * Stops the worker without the mailbox: for when the tree is out of reach (nact drops messages
   * to the children of a stopped actor, as when an embedding parent stops).
   */
  shutdown(graceMs: number): Promise<void>;
}

/** Spawns the Worker actor `spec.id` under its monitor. */
export function spawnWorker(spec: WorkerSpec): WorkerHandle {
  const log = getLogger(`pulsar.${spec.settings.name}.${spec.id}`);
  const view: WorkerView = {
    id: spec.id,
    concurrency: spec.mode,
    pid: null,
    threadId: null,
    running: 0,
    processed: 0,
    lost: 0,
    startedAt: Date.now(),
  };
  let exitReason: ExitReason | null = null;
  let exitDetail = '';
  let exited = false;
  const onExitCallbacks: (() => void)[] = [];
  let child: ChildHandle | null = null;
  let inline: TaskBackend | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  /** What the child listens to (null: nothing), and the LocalStore subscription that feeds it. */
  let childEvents: ReadonlySet<TaskEvent> | null = null;
  let storeSubscription: Promise<true> | null = null;

  /** Set when the parent killed the child for a run past its timeout: REVOKED once it is gone. */
  let overdue: WatchedRun | null = null;
  const watch = new RunWatch(spec.settings.stuckGrace * 1000, (run) => {
    if (overdue || exited) return;
    overdue = run;
    const seconds = (run.timeoutMs ?? 0) / 1000;
    log.error(`task ${run.name}(${run.id}) still runs ${seconds}s + ${spec.settings.stuckGrace}s past its start (timeout ${seconds}s): killing worker ${spec.id}`);
    exitReason = 'timed_out';
    exitDetail = `task ${run.name}(${run.id}) ran past its timeout of ${seconds}s`;
    child?.kill();
  });

  /**
   * The child is gone: the run it was killed for ends REVOKED, and the tasks it still held go back
   * to the queue with nothing counted when the parent stopped it on purpose (a crash is the
   * monitor's: it recovers, charging only the tasks that had started).
   */
  const handBack = async (reason: ExitReason): Promise<void> => {
    // The run it was killed for, and any other run past its timeout + grace by now, end REVOKED.
    const revoked = overdue ? [overdue, ...watch.overdue().filter((r) => r.id !== overdue?.id)] : [];
    watch.clear();
    for (const run of revoked) {
      await revokeOverdue(spec.store, spec.id, run).catch((err: unknown) => log.error(`could not revoke task ${run.id} after its timeout: ${String(err)}`));
    }
    if (reason === 'timed_out' || reason === 'shutdown' || reason === 'max_requests') {
      const ids = await spec.store.release(spec.id).catch((err: unknown) => {
        log.error(`could not hand back the tasks of ${spec.id}: ${String(err)}`);
        return [] as string[];
      });
      if (ids.length) log.info(`${spec.id} handed ${ids.length} task(s) back to the queue`);
    }
  };

  const report = (reason: ExitReason, detail: string) => {
    if (exited) return;
    exited = true;
    watch.clear();
    if (heartbeat) clearInterval(heartbeat);
    if (spec.localStore && storeSubscription) tell(spec.localStore, { type: 'unsubscribe', key: spec.id });
    storeSubscription = null;
    childEvents = null;
    tell(spec.monitor, { type: 'worker_exit', workerId: spec.id, reason, detail });
    onExitCallbacks.splice(0).forEach((fn) => fn());
    stopActor(ref);
  };

  const ref = spawnHandler<WorkerMessage>(spec.monitor, spec.id, (message) => {
    switch (message.type) {
      case 'events': {
        // Only what the child asked for crosses, a turn's events in one IPC message.
        const wanted = childEvents;
        const events = wanted ? message.events.filter((e) => wanted.has(e.event)) : [];
        if (events.length) child?.send({ type: 'events', events });
        break;
      }
      case 'shutdown': {
        const replyTo = message.replyTo;
        void shutdown(message.graceMs).then(() => tell(replyTo, { ok: true, value: true }));
        break;
      }
      case 'kill':
        exitReason = message.reason;
        exitDetail = message.detail;
        if (child) child.kill();
        else if (inline) {
          // An inline job cannot be stopped: hand its tasks back (its late writes are fenced off).
          const hurry = message.reason === 'shutdown' ? handBack('shutdown') : Promise.resolve();
          void hurry.then(() => inline?.close(0)).finally(() => report(message.reason, message.detail));
        }
        break;
      default:
        assertNever(message);
    }
  });

  /** Stops the worker (running tasks get `graceMs`); resolves once it exited. */
  function shutdown(graceMs: number): Promise<void> {
    exitReason ??= 'shutdown';
    if (exited) return Promise.resolve();
    const done = new Promise<void>((resolve) => onExitCallbacks.push(resolve));
    if (child) {
      child.send({ type: 'shutdown', graceMs });
      const kill = setTimeout(() => child?.kill(), graceMs + 5000);
      onExitCallbacks.push(() => clearTimeout(kill));
    } else if (inline) {
      const backend = inline;
      void backend.close(graceMs / 1000).finally(() => report(exitReason ?? 'shutdown', 'stopped'));
    }
    return done;
  }

  const handle: WorkerHandle = { ref, view, lastHeartbeat: Date.now(), ready: false, shutdown };

  if (spec.mode === 'inline') {
    const store: TaskStore = spec.localStore
      ? localStoreClient(spec.localStore, ref)
      : createStore(spec.settings.taskBackend, { name: spec.settings.name });
    inline = new TaskBackend(store, backendOptions(spec));
    const runtime = startWorker(inline, { id: spec.id, concurrency: 'inline', pid: process.pid }, { stuckGrace: spec.settings.stuckGrace });
    view.pid = process.pid;
    runtime.on('idle', () => {
      exitReason = 'max_requests';
      void inline?.close(0).finally(() => report('max_requests', `processed ${runtime.processed} tasks`));
    });
    // The runtime logs it at ERROR (an inline job cannot be killed); the arbiter emits `task_stuck`.
    runtime.on('stuck', (taskId: string) => tell(spec.monitor, { type: 'worker_stuck', workerId: spec.id, taskId }));
    heartbeat = setInterval(() => {
      tell(spec.monitor, { type: 'worker_heartbeat', workerId: spec.id, running: runtime.running.size, processed: runtime.processed, lost: runtime.lost });
    }, spec.heartbeatMs);
    heartbeat.unref();
    tell(spec.monitor, { type: 'worker_ready', workerId: spec.id, pid: process.pid });
    return handle;
  }

  child = spec.mode === 'thread' ? spawnThread() : forkChild();
  view.pid = child.pid;
  view.threadId = child.threadId ?? null;
  const theChild = child;
  const sendReplies = (replies: StoreReply[]) => theChild.send({ type: 'store_replies', replies });
  const bridge = spec.localStore ? storeBridge(spec.localStore, ref, sendReplies) : null;
  theChild.onMessage((message: FromChild) => {
    switch (message.type) {
      case 'ready':
        tell(spec.monitor, { type: 'worker_ready', workerId: spec.id, pid: message.pid, threadId: message.threadId });
        break;
      case 'heartbeat':
        tell(spec.monitor, { type: 'worker_heartbeat', workerId: spec.id, running: message.running, processed: message.processed, lost: message.lost });
        break;
      case 'store_calls':
        bridge?.(message.calls);
        break;
      case 'subscribe':
        subscribeChild(message.rid, message.events);
        break;
      case 'unsubscribe':
        unsubscribeChild();
        sendReplies([{ rid: message.rid, ok: true, value: true }]);
        break;
      case 'idle':
        exitReason = 'max_requests';
        exitDetail = 'processed its maxRequests tasks';
        theChild.send({ type: 'shutdown', graceMs: spec.settings.shutdownGrace * 1000 });
        break;
      case 'runs':
        for (const note of message.notes) {
          if (note.kind === 'run') watch.started(note);
          else watch.settled(note.id, note.token);
        }
        break;
      case 'stopped':
        break;
      case 'fatal':
        exitReason = 'crashed';
        exitDetail = message.message;
        log.error(`${spec.id} could not start: ${message.message}`);
        break;
      default:
        assertNever(message);
    }
  });
  /**
   * The child's events (local://): the Worker actor subscribes to the LocalStore while its child
   * has listeners, under the key of its id (report() drops it when the child is gone).
   */
  function subscribeChild(rid: number, events: TaskEvent[]): void {
    childEvents = new Set(events);
    const answer = (reply: StoreReply) => sendReplies([reply]);
    const store = spec.localStore;
    if (!store) return answer({ rid, ok: false, error: errorToWire(new Error(`${spec.id}: no local store to subscribe to`)) });
    // The LocalStore queues only the events the child asked for (its filter of this subscription,
    // told behind the subscribe in its mailbox); the filter in 'events' above only drops those a
    // turn had batched before the child asked for fewer.
    const narrow = () => tell(store, { type: 'subscription_events', key: spec.id, events: [...events] });
    if (storeSubscription) {
      narrow();
      void storeSubscription.then(() => answer({ rid, ok: true, value: true }), (err: unknown) => answer({ rid, ok: false, error: errorToWire(err) }));
      return;
    }
    const subscription = askReply<LocalStoreMessage, true>(
      store,
      (replyTo) => ({ type: 'subscribe_batched', key: spec.id, subscriber: ref, replyTo }),
      10_000,
      `${spec.id} subscribe`,
    );
    narrow();
    storeSubscription = subscription;
    subscription.then(
      () => answer({ rid, ok: true, value: true }),
      (err: unknown) => {
        if (storeSubscription === subscription) storeSubscription = null;
        log.error(`cannot subscribe for ${spec.id}: ${String(err)}`);
        answer({ rid, ok: false, error: errorToWire(err) });
      },
    );
  }

  function unsubscribeChild(): void {
    childEvents = null;
    if (!storeSubscription || !spec.localStore) return;
    storeSubscription = null;
    // After the subscribe in the LocalStore's mailbox: it ends what that one started.
    tell(spec.localStore, { type: 'unsubscribe', key: spec.id });
  }

  theChild.onExit((code, signal) => {
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    const reason = exitReason ?? 'crashed';
    void handBack(reason).finally(() => report(reason, exitDetail ? `${exitDetail} (${how})` : how));
  });
  theChild.send({
    type: 'init',
    config: {
      workerId: spec.id,
      name: spec.settings.name,
      url: spec.settings.taskBackend,
      taskPaths: spec.settings.taskPaths,
      cwd: spec.settings.cwd,
      concurrentTasks: spec.settings.concurrentTasks,
      maxTasks: spec.settings.maxRequests,
      pollTimeout: spec.pollTimeout,
      leaseTimeout: spec.settings.leaseTimeout,
      maxRedeliveries: spec.settings.maxRedeliveries,
      limits: { maxArgumentBytes: spec.settings.maxArgumentBytes, maxResultBytes: spec.settings.maxResultBytes },
      heartbeatMs: spec.heartbeatMs,
      stuckGrace: spec.settings.stuckGrace,
      logLevel: logSettings.level,
      logJson: logSettings.json,
    },
  });
  return handle;
}

/** Backend settings of a worker. */
export function backendOptions(spec: Pick<WorkerSpec, 'settings' | 'registry' | 'pollTimeout'>) {
  return {
    name: spec.settings.name,
    url: spec.settings.taskBackend,
    registry: spec.registry,
    concurrentTasks: spec.settings.concurrentTasks,
    maxTasks: spec.settings.maxRequests,
    pollTimeout: spec.pollTimeout,
    leaseTimeout: spec.settings.leaseTimeout,
    maxRedeliveries: spec.settings.maxRedeliveries,
    limits: { maxArgumentBytes: spec.settings.maxArgumentBytes, maxResultBytes: spec.settings.maxResultBytes },
  };
}
