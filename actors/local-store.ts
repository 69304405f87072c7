/**
 * The LocalStore actor: local://'s MemoryStore inside the arbiter, reached only by messages.
 * Its mailbox makes every store call atomic; subscribers are actors that get `event` messages.
 */
import { MemoryStore, type MemoryStoreOptions } from '../src/backends/memory/memory.js';
import { callStore, RemoteStore, type StoreMethod, type StoreTransport } from '../src/backends/remote.js';
import { BackendUnavailable } from '../src/model/errors.js';
import { getLogger } from '../src/infra/logger.js';
import type { EventListener } from '../src/store/contract.js';
import type { LocalStoreMessage, StoreEventMessage } from './protocol.js';
import { ActorGone, askReply, replyWith, spawnHandler, stopActor, tell, type AnyRef, type TypedRef } from './refs.js';

/** A LocalStore actor, and a way to close its store when the actor is out of reach. */
export interface LocalStoreHandle {
  ref: TypedRef<LocalStoreMessage>;
  close(): Promise<void>;
}

/**
 * Spawns the LocalStore actor of application `name` under `parent`. Its store's clock (the one
 * clock of local://) is the arbiter's Date.now unless `options.clock` says otherwise (specs).
 */
export function spawnLocalStore(parent: AnyRef, name: string, options: Pick<MemoryStoreOptions, 'clock'> = {}): LocalStoreHandle {
  // Every caller hands over what it passes and only reads what it gets (see shareObjects): a
  // child's calls come deserialized from IPC, and localStoreClient copies on both sides.
  const store = new MemoryStore(name, { ...options, shareObjects: true });
  const unsubscribers = new Map<string, () => Promise<void>>();
  const log = getLogger(`pulsar.${name}.local-store`);
  let closed = false;
  const ref = spawnHandler<LocalStoreMessage>(parent, 'local-store', (message) => {
    switch (message.type) {
      case 'call':
        if (closed) {
          // Answer late calls (queued behind the shutdown) instead of leaving their asks hanging.
          replyWith(message.replyTo, Promise.reject(new BackendUnavailable(`the local store of ${name} is closed`)));
          break;
        }
        // Not awaited: a pull that waits for work must not hold the mailbox.
        replyWith(message.replyTo, () => callStore(store, message.method, message.args));
        break;
      case 'subscribe':
        replyWith(message.replyTo, async () => {
          const subscriber = message.subscriber;
          const off = await store.subscribe((event, id) => tell(subscriber, { type: 'event', event, id }));
          unsubscribers.set(message.key, off);
          return true as const;
        });
        break;
      case 'unsubscribe':
        void unsubscribers.get(message.key)?.();
        unsubscribers.delete(message.key);
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
  return { ref, close };
}

let subscriberCount = 0;

/** Calls whose arguments the store keeps: the in-process client passes copies (shareObjects). */
const KEEPS_ARGUMENTS: ReadonlySet<StoreMethod> = new Set(['queue', 'start', 'finish', 'retry', 'progress', 'claimRun']);
/** Calls whose answers are the store's own objects: the in-process client gets copies. */
const SHARES_ANSWER: ReadonlySet<StoreMethod> = new Set(['get', 'list', 'pull']);

/** A TaskStore that talks to a LocalStore actor through its mailbox. */
export function localStoreClient(storeRef: TypedRef<LocalStoreMessage>, parent: AnyRef): RemoteStore {
  const subscriberRefs = new Set<AnyRef>();
  const transport: StoreTransport = {
    // Mailboxes pass references: copied here, so that the store shares nothing with its callers.
    async call(method: StoreMethod, args: unknown[], timeoutMs: number) {
      const sent = KEEPS_ARGUMENTS.has(method) ? structuredClone(args) : args;
      const answer = await askReply<LocalStoreMessage, unknown>(storeRef, (replyTo) => ({ type: 'call', method, args: sent, replyTo }), timeoutMs, `local store ${method}`);
      return SHARES_ANSWER.has(method) ? structuredClone(answer) : answer;
    },
    async subscribe(listener: EventListener) {
      const key = `subscriber-${++subscriberCount}`;
      const ref = spawnHandler<StoreEventMessage>(parent, key, (m) => listener(m.event, m.id));
      subscriberRefs.add(ref);
      await askReply<LocalStoreMessage, true>(storeRef, (replyTo) => ({ type: 'subscribe', key, subscriber: ref, replyTo }), 10_000, 'local store subscribe');
      return async () => {
        tell(storeRef, { type: 'unsubscribe', key });
        subscriberRefs.delete(ref);
        stopActor(ref);
      };
    },
    async close() {
      for (const ref of subscriberRefs) stopActor(ref);
      subscriberRefs.clear();
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
