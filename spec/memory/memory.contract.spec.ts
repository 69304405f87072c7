/**
 * The backend contract on MemoryStore, the in-process store behind local://.
 *
 * Every "connection" of one app name is a RemoteStore over a direct transport to one MemoryStore:
 * closing it ends only its own subscriptions (and its pulls answer nothing), as closing one Redis
 * connection would.
 */
import { backendContract } from '../backend.contract.js';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { callStore, RemoteStore, type StoreTransport } from '../../src/backends/remote.js';
import { answerStoreCalls } from '../../actors/store-bridge.js';
import type { StoreCall } from '../../actors/child-protocol.js';
import { errorFromWire, type WireError } from '../../src/model/error-codec.js';

/** One connection to a shared MemoryStore, its calls made by `call` (pulls answer empty once closed). */
function connect(store: MemoryStore, call: StoreTransport['call']): RemoteStore {
  const unsubscribers: (() => Promise<void>)[] = [];
  let closed = false;
  const transport: StoreTransport = {
    call: (method, args, timeoutMs) => (closed && method === 'pull' ? Promise.resolve([]) : call(method, args, timeoutMs)),
    async subscribe(listener) {
      const unsubscribe = await store.subscribe(listener);
      unsubscribers.push(unsubscribe);
      return unsubscribe;
    },
    async close() {
      closed = true;
      await Promise.all(unsubscribers.map((u) => u()));
    },
  };
  return new RemoteStore(transport);
}

/** The backend contract on MemoryStores shared by name, each connection made by `open`. */
function contractOn(title: string, open: (store: MemoryStore) => RemoteStore): void {
  const stores = new Map<string, MemoryStore>();
  backendContract(title, {
    url: 'local://',
    openStore(name) {
      let store = stores.get(name);
      if (!store) stores.set(name, (store = new MemoryStore(name)));
      return open(store);
    },
    async cleanup() {
      await Promise.all([...stores.values()].map((s) => s.close()));
      stores.clear();
    },
  });
}

contractOn('MemoryStore', (store) => connect(store, (method, args) => callStore(store, method, args)));

/**
 * The same contract through the LocalStore actor's answering side: each call goes through
 * answerStoreCalls, which answers the hot calls at once (MemoryStore.callNow) and the others by
 * their promise, and errors as replies.
 */
let rid = 0;
contractOn('MemoryStore, calls answered in batches as the LocalStore actor does', (store) =>
  connect(
    store,
    (method, args) =>
      new Promise((resolve, reject) => {
        const calls: StoreCall[] = [{ rid: ++rid, method, args }];
        answerStoreCalls(store, calls, ([reply]) => (reply?.ok ? resolve(reply.value) : reject(errorFromWire((reply as { error: WireError }).error))), store.name);
      }),
  ),
);
