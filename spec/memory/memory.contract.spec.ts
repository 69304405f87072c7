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
