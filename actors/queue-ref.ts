/**
 * The public face of a TaskQueue for actor applications: one actor per queue, spawned by the
 * arbiter, whose ref (`arbiter.queueRef(name)`, `tq.ref`) stays valid across monitor restarts.
 * It forwards the queue protocol to the current monitor (answered straight to `replyTo`), answers
 * BackendUnavailable while the monitor restarts, and delivers task events to subscriber actors.
 */
import { BackendUnavailable } from '../src/model/errors.js';
import { errorToWire } from '../src/model/error-codec.js';
import { getLogger } from '../src/infra/logger.js';
import type { TaskBackend } from '../src/producer/backend.js';
import type { TaskEvent } from '../src/store/contract.js';
import { TASK_EVENTS } from '../src/store/contract.js';
import { assertNever, type MonitorMessage, type QueueRefMessage, type TaskEventMessage } from './protocol.js';
import { isQueueRequest } from './queue-protocol.js';
import { isAlive, refKey, spawnHandler, tell, type AnyRef, type ReplyTo, type TypedRef } from './refs.js';

/** A subscriber actor and what it asked for. */
interface Subscription {
  subscriber: TypedRef<TaskEventMessage>;
  events: ReadonlySet<TaskEvent>;
  jobNames: ReadonlySet<string> | null;
}

/** The queue's ref actor; `attach` follows the monitor (and backend) of each (re)start. */
export interface QueueRefHandle {
  ref: TypedRef<QueueRefMessage>;
  attach(monitor: TypedRef<MonitorMessage> | null, backend: TaskBackend | null): void;
  /** Ends every subscription and the reachability checks. */
  close(): void;
}

/** How often subscribers are checked: a stopped subscriber's subscription ends by itself. */
const SUBSCRIBER_CHECK_MS = 1000;

/** Spawns the ref actor of queue `name` under `parent`. */
export function spawnQueueRef(parent: AnyRef, name: string): QueueRefHandle {
  const log = getLogger(`pulsar.${name}.ref`);
  let monitor: TypedRef<MonitorMessage> | null = null;
  let backend: TaskBackend | null = null;
  const subscriptions = new Map<string, Subscription>();
  const listening = new Map<TaskEvent, (id: string) => void>();
  let checker: NodeJS.Timeout | null = null;

  /** One listener per event somebody subscribed to: no cost for events nobody wants. */
  const relisten = () => {
    const wanted = new Set<TaskEvent>();
    for (const s of subscriptions.values()) for (const e of s.events) wanted.add(e);
    for (const [event, listener] of listening) {
      if (!wanted.has(event) || !backend) {
        backend?.off(event, listener);
        listening.delete(event);
      }
    }
    if (!backend) return;
    for (const event of wanted) {
      if (listening.has(event)) continue;
      const listener = (id: string) => deliver(event, id);
      listening.set(event, listener);
      backend.on(event, listener);
    }
    if (subscriptions.size && !checker) {
      checker = setInterval(dropStopped, SUBSCRIBER_CHECK_MS);
      checker.unref();
    } else if (!subscriptions.size && checker) {
      clearInterval(checker);
      checker = null;
    }
  };

  const deliver = (event: TaskEvent, id: string) => {
    const targets = [...subscriptions.values()].filter((s) => s.events.has(event));
    if (!targets.length) return;
    const needsTask = event === 'task_done' || targets.some((s) => s.jobNames);
    if (!needsTask) {
      for (const s of targets) tell(s.subscriber, { type: 'task_event', queue: name, event, id });
      return;
    }
    const from = backend;
    void from
      ?.getTask(id)
      .then((task) => {
        if (!task) return;
        for (const s of targets) {
          if (s.jobNames && !s.jobNames.has(task.name)) continue;
          const done = event === 'task_done' ? { status: task.status, result: task.result } : {};
          tell(s.subscriber, { type: 'task_event', queue: name, event, id, name: task.name, ...done });
        }
      })
      .catch((err: unknown) => log.debug(`could not read task ${id} for its subscribers: ${String(err)}`));
  };

  const dropStopped = () => {
    for (const [key, s] of [...subscriptions]) if (!isAlive(s.subscriber)) subscriptions.delete(key);
    relisten();
  };

  const ref = spawnHandler<QueueRefMessage>(parent, `queue-${name}`, (message) => {
    if (isQueueRequest(message)) {
      if (monitor) tell(monitor, message);
      else tell(message.replyTo as ReplyTo<unknown>, { ok: false, error: errorToWire(new BackendUnavailable(`TaskQueue "${name}" is restarting`)) });
      return;
    }
    switch (message.type) {
      case 'subscribe': {
        const events = message.events ?? TASK_EVENTS;
        const unknown = events.filter((e) => !TASK_EVENTS.includes(e));
        if (unknown.length) {
          tell(message.replyTo, { ok: false, error: errorToWire(new TypeError(`subscribe: unknown event ${unknown.join(', ')} (known: ${TASK_EVENTS.join(', ')})`)) });
          break;
        }
        subscriptions.set(refKey(message.subscriber), {
          subscriber: message.subscriber,
          events: new Set(events),
          jobNames: message.jobNames ? new Set(message.jobNames) : null,
        });
        relisten();
        // Answered once the backend listens: no event after the reply is missed.
        const ready: Promise<unknown> = backend ? backend.ensureSubscribed() : Promise.resolve();
        void ready.then(
          () => tell(message.replyTo, { ok: true, value: true }),
          (err: unknown) => tell(message.replyTo, { ok: false, error: errorToWire(err) }),
        );
        break;
      }
      case 'unsubscribe':
        subscriptions.delete(refKey(message.subscriber));
        relisten();
        if (message.replyTo) tell(message.replyTo, { ok: true, value: true });
        break;
      default:
        assertNever(message);
    }
  });

  return {
    ref,
    attach(nextMonitor, nextBackend) {
      for (const [event, listener] of listening) backend?.off(event, listener);
      listening.clear();
      monitor = nextMonitor;
      backend = nextBackend;
      relisten();
    },
    close() {
      subscriptions.clear();
      backend = null;
      monitor = null;
      relisten();
    },
  };
}
