/**
 * The backend contract on MemoryStore, the in-process store behind local://.
 *
 * Every "connection" of one app name is a handle on one MemoryStore: closing a handle ends only
 * its own subscriptions, as closing one Redis connection would.
 */
import { backendContract } from '../backend.contract.js';
import { MemoryStore } from '../../src/backends/memory.js';
import type { Json } from '../../src/json.js';
import type {
  EventListener,
  PullRequest,
  RecoverRequest,
  RecoverResult,
  StoreFilter,
  TaskEvent,
  TaskStore,
} from '../../src/store.js';
import type { WireTask } from '../../src/task.js';

/** One connection to a shared MemoryStore. */
class MemoryHandle implements TaskStore {
  private readonly unsubscribers: (() => Promise<void>)[] = [];
  private closed = false;

  constructor(private readonly store: MemoryStore) {}

  queue(tasks: WireTask[]): Promise<(string | null)[]> {
    return this.store.queue(tasks);
  }
  get(ids: string[]): Promise<(WireTask | null)[]> {
    return this.store.get(ids);
  }
  list(filter: StoreFilter): Promise<WireTask[]> {
    return this.store.list(filter);
  }
  numQueued(): Promise<number> {
    return this.store.numQueued();
  }
  revoke(id: string, nowMs: number): Promise<boolean> {
    return this.store.revoke(id, nowMs);
  }
  flush(): Promise<void> {
    return this.store.flush();
  }
  async pull(request: PullRequest): Promise<WireTask[]> {
    return this.closed ? [] : this.store.pull(request);
  }
  start(task: WireTask, worker: string): Promise<boolean> {
    return this.store.start(task, worker);
  }
  finish(task: WireTask, worker: string): Promise<boolean> {
    return this.store.finish(task, worker);
  }
  retry(task: WireTask, worker: string): Promise<boolean> {
    return this.store.retry(task, worker);
  }
  renew(worker: string, ids: string[], leaseMs: number): Promise<void> {
    return this.store.renew(worker, ids, leaseMs);
  }
  recover(request: RecoverRequest): Promise<RecoverResult> {
    return this.store.recover(request);
  }
  publish(event: TaskEvent, taskId: string): Promise<void> {
    return this.store.publish(event, taskId);
  }
  async subscribe(listener: EventListener): Promise<() => Promise<void>> {
    const unsubscribe = await this.store.subscribe(listener);
    this.unsubscribers.push(unsubscribe);
    return unsubscribe;
  }
  progress(taskId: string, value: Json): Promise<void> {
    return this.store.progress(taskId, value);
  }
  claimRun(name: string, previousMs: number | null, ranAtMs: number): Promise<boolean> {
    return this.store.claimRun(name, previousMs, ranAtMs);
  }
  lastRuns(): Promise<Record<string, number>> {
    return this.store.lastRuns();
  }
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.unsubscribers.map((u) => u()));
  }
}

const stores = new Map<string, MemoryStore>();

backendContract('MemoryStore', {
  url: 'local://',
  openStore(name) {
    let store = stores.get(name);
    if (!store) stores.set(name, (store = new MemoryStore(name)));
    return new MemoryHandle(store);
  },
  async cleanup() {
    await Promise.all([...stores.values()].map((s) => s.close()));
    stores.clear();
  },
});
