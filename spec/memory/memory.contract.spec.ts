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

/** One connection to a shared MemoryStore. */
function connect(store: MemoryStore): RemoteStore {
  const unsubscribers: (() => Promise<void>)[] = [];
  let closed = false;
  const transport: StoreTransport = {
    call: async (method, args) => (closed && method === 'pull' ? [] : callStore(store, method, args)),
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

const stores = new Map<string, MemoryStore>();

backendContract('MemoryStore', {
  url: 'local://',
  openStore(name) {
    let store = stores.get(name);
    if (!store) stores.set(name, (store = new MemoryStore(name)));
    return connect(store);
  },
  async cleanup() {
    await Promise.all([...stores.values()].map((s) => s.close()));
    stores.clear();
  },
});

/**
 * The same contract through the LocalStore actor's answering side: each call goes through
 * answerStoreCalls, which answers the hot calls at once (MemoryStore.callNow) and the others by
 * their promise, and errors as replies.
 */
function connectBatched(store: MemoryStore): RemoteStore {
  const unsubscribers: (() => Promise<void>)[] = [];
  let closed = false;
  let rid = 0;
  const transport: StoreTransport = {
    call: (method, args) =>
      new Promise((resolve, reject) => {
        if (closed && method === 'pull') return resolve([]);
        const calls: StoreCall[] = [{ rid: ++rid, method, args }];
        answerStoreCalls(store, calls, ([reply]) => (reply?.ok ? resolve(reply.value) : reject(errorFromWire((reply as { error: WireError }).error))), store.name);
      }),
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

const batchedStores = new Map<string, MemoryStore>();

backendContract('MemoryStore, calls answered in batches as the LocalStore actor does', {
  url: 'local://',
  openStore(name) {
    let store = batchedStores.get(name);
    if (!store) batchedStores.set(name, (store = new MemoryStore(name)));
    return connectBatched(store);
  },
  async cleanup() {
    await Promise.all([...batchedStores.values()].map((s) => s.close()));
    batchedStores.clear();
  },
});
