/**
 * The LocalStore actor: local://'s MemoryStore inside the arbiter, reached only by messages.
 * Its mailbox makes every store call atomic; subscribers are actors that get `event` messages.
 */
import { MemoryStore, type MemoryStoreOptions } from '../src/backends/memory/memory.js';
import { RemoteStore, type StoreMethod, type StoreTransport } from '../src/backends/remote.js';
import { CallTable } from '../src/backends/call-table.js';
import { AskTimeoutError, BackendUnavailable } from '../src/model/errors.js';
import { errorFromWire } from '../src/model/error-codec.js';
import { getLogger } from '../src/infra/logger.js';
import { TurnBatcher } from '../src/infra/turn-batcher.js';
import { TASK_EVENTS, type EventListener, type TaskEvent } from '../src/store/contract.js';
import type { StoreCall } from './child-protocol.js';
import type { LocalStoreMessage, StoreEventsMessage, StoreRepliesMessage } from './protocol.js';
import { ActorGone, askReply, isAlive, replyWith, spawnHandler, stopActor, tell, type AnyRef, type TypedRef } from './refs.js';
import { answerStoreCalls } from './store-bridge.js';

/** A LocalStore actor, and a way to close its store when the actor is out of reach. */
export interface LocalStoreHandle {
  ref: TypedRef<LocalStoreMessage>;
  close(): Promise<void>;
  /** The keys of the subscriptions it serves (a worker's is its id). */
  subscriptions(): string[];
  /** The events subscription `key` is served, sorted (null: no such subscription). */
  subscriptionEvents(key: string): TaskEvent[] | null;
}

/**
 * Spawns the LocalStore actor of application `name` under `parent`. Its store's clock (the one
 * clock of local://) is the arbiter's Date.now unless `options.clock` says otherwise (specs).
 */
export function spawnLocalStore(parent: AnyRef, name: string, options: Pick<MemoryStoreOptions, 'clock'> = {}): LocalStoreHandle {
  // Every caller hands over what it passes and only reads what it gets (see shareObjects): a
  // child's calls come deserialized from IPC; in this process, localStoreClient copies what
  // reaches user code and the worker runtime and the producer hand over what they pass.
  const store = new MemoryStore(name, { ...options, shareObjects: true });
  const unsubscribers = new Map<string, () => Promise<void>>();
  /** The events each batched subscription wants (live sets the store reads at each event). */
  const filters = new Map<string, Set<TaskEvent>>();
  const log = getLogger(`pulsar.${name}.local-store`);
  let closed = false;
  const ref = spawnHandler<LocalStoreMessage>(parent, 'local-store', (message) => {
    switch (message.type) {
      case 'calls': {
        const replyTo = message.replyTo;
        answerStoreCalls(closed ? null : store, message.calls, (replies) => tell(replyTo, { type: 'store_replies', replies }), name);
        break;
      }
      case 'subscribe_batched':
        replyWith(message.replyTo, async () => {
          const subscriber = message.subscriber;
          // The events of a turn (every store call this turn made) leave in one message.
          const outbox = new TurnBatcher<{ event: TaskEvent; id: string }>((events) => tell(subscriber, { type: 'events', events }));
          const wanted = new Set<TaskEvent>(TASK_EVENTS);
          filters.set(message.key, wanted);
          const off = await store.subscribe((event, id) => outbox.push({ event, id }), wanted);
          unsubscribers.set(message.key, off);
          return true as const;
        });
        break;
      case 'subscription_events': {
        const wanted = filters.get(message.key);
        if (!wanted) break;
        wanted.clear();
        for (const event of message.events ?? TASK_EVENTS) wanted.add(event);
        break;
      }
      case 'unsubscribe':
        void unsubscribers.get(message.key)?.();
        unsubscribers.delete(message.key);
        filters.delete(message.key);
        break;
      case 'shutdown':
        closed = true;
        replyWith(message.replyTo, async () => {
          await store.close();
          log.debug('local store closed');
          return true as const;
        });
        break;
    }
  });
  const close = async () => {
    closed = true;
    await store.close();
  };
  const subscriptionEvents = (key: string): TaskEvent[] | null => {
    const wanted = filters.get(key);
    return wanted ? [...wanted].sort() : null;
  };
  return { ref, close, subscriptions: () => [...unsubscribers.keys()], subscriptionEvents };
}

let clientCount = 0;

/**
 * Calls whose arguments the store keeps and that a caller may still hold: copied. The worker
 * runtime hands over what it passes to start, finish and retry (fresh records, results copied
 * when they are objects), and the producer's queue passes tasks it built for the call (kwargs
 * and meta copied from the caller's): those cross without a copy.
 */
const KEEPS_ARGUMENTS: ReadonlySet<StoreMethod> = new Set(['progress', 'claimRun']);
/**
 * Calls whose answers are the store's own objects and reach user code: copied. A pull's tasks go
 * to the worker runtime alone, which copies what a job could mutate (TaskConsumer.task).
 */
const SHARES_ANSWER: ReadonlySet<StoreMethod> = new Set(['get', 'list']);

/**
 * A TaskStore that talks to a LocalStore actor through its mailbox. The calls of one event-loop
 * turn travel in one `calls` message; their answers come back to this client's own reply actor,
 * correlated by request ids minted here. Events come in batches, one message per turn.
 */
export function localStoreClient(storeRef: TypedRef<LocalStoreMessage>, parent: AnyRef): RemoteStore {
  const id = ++clientCount;
  const subscriberRefs = new Set<AnyRef>();
  const table = new CallTable((method, ms) => new AskTimeoutError(`local store ${method}`, ms));
  let replies: TypedRef<StoreRepliesMessage> | null = null;
  const replyActor = (): TypedRef<StoreRepliesMessage> =>
    (replies ??= spawnHandler<StoreRepliesMessage>(parent, `store-replies-${id}`, (m) => {
      for (const reply of m.replies) {
        if (reply.ok) table.resolve(reply.rid, reply.value);
        else table.reject(reply.rid, errorFromWire(reply.error));
      }
    }));
  const outbox = new TurnBatcher<StoreCall>((calls) => {
    try {
      if (!isAlive(storeRef)) throw new ActorGone('the local store has stopped');
      tell(storeRef, { type: 'calls', calls, replyTo: replyActor() });
    } catch (err) {
      // The store (or this client's parent) is gone: the calls fail at once, as asks did.
      const error = err instanceof Error ? err : new Error(String(err));
      for (const call of calls) table.reject(call.rid, new ActorGone(`local store ${call.method}: ${error.message}`));
    }
  });
  let subscribers = 0;
  let clientClosed = false;
  /** Keys of this client's batched subscriptions, and the events they want (null: every event). */
  const keys = new Set<string>();
  let wanted: TaskEvent[] | null = null;
  const transport: StoreTransport = {
    call(method: StoreMethod, args: unknown[], timeoutMs: number) {
      // Its replies would go to a reply actor that may be gone with its parent: no answer, ever.
      if (clientClosed) return Promise.reject(new BackendUnavailable(`local store ${method}: the local store client is closed`));
      let sent: unknown[];
      try {
        sent = KEEPS_ARGUMENTS.has(method) ? structuredClone(args) : args;
      } catch (err) {
        return Promise.reject(err);
      }
      const { rid, answer } = table.add(method, timeoutMs);
      outbox.push({ rid, method, args: sent });
      return SHARES_ANSWER.has(method) ? answer.then((value) => structuredClone(value)) : answer;
    },
    async subscribe(listener: EventListener) {
      const key = `subscriber-${id}-${++subscribers}`;
      const ref = spawnHandler<StoreEventsMessage>(parent, key, (m) => {
        for (const { event, id: taskId } of m.events) listener(event, taskId);
      });
      subscriberRefs.add(ref);
      keys.add(key);
      const subscribed = askReply<LocalStoreMessage, true>(storeRef, (replyTo) => ({ type: 'subscribe_batched', key, subscriber: ref, replyTo }), 10_000, 'local store subscribe');
      // Behind the subscription in the store's mailbox: in force before any later call.
      if (wanted) tell(storeRef, { type: 'subscription_events', key, events: wanted });
      await subscribed;
      return async () => {
        keys.delete(key);
        tell(storeRef, { type: 'unsubscribe', key });
        subscriberRefs.delete(ref);
        stopActor(ref);
      };
    },
    wantEvents(events: readonly TaskEvent[] | null) {
      wanted = events ? [...events] : null;
      // Told at once: ahead of the calls of this turn, which leave from a setImmediate.
      for (const key of keys) tell(storeRef, { type: 'subscription_events', key, events: wanted });
    },
    async close() {
      clientClosed = true;
      outbox.flushNow();
      for (const ref of subscriberRefs) stopActor(ref);
      subscriberRefs.clear();
      table.close(new BackendUnavailable('the local store client is closed'));
    },
  };
  return new RemoteStore(transport);
}

/**
 * Asks the LocalStore actor to close its store. The actor is not stopped here: it answers late
 * calls with BackendUnavailable until its monitor stops and takes it out of reach.
 */
export async function shutdownLocalStore(handle: LocalStoreHandle): Promise<void> {
  try {
    await askReply<LocalStoreMessage, true>(handle.ref, (replyTo) => ({ type: 'shutdown', replyTo }), 5000, 'local store shutdown');
  } catch (err) {
    if (!(err instanceof ActorGone)) throw err;
    await handle.close();
  }
}
