/**
 * RemoteStore: a TaskStore whose every call is carried elsewhere by a transport (an actor's
 * mailbox, an IPC channel, a thread's port). The store that answers stays the one source of truth.
 */
import type { Json } from '../model/json.js';
import type { TaskStatus } from '../model/states.js';
import type {
  Delivery,
  DeliveryRef,
  EventListener,
  Fence,
  PageRequest,
  PullRequest,
  QueueRequestOptions,
  RecoverRequest,
  RecoverResult,
  StoreFilter,
  TaskEvent,
  TaskPage,
  TaskStore,
} from '../store/contract.js';
import type { WireTask } from '../model/task.js';

/** The methods a transport carries (all but subscribe and close). */
export type StoreMethod = Exclude<keyof TaskStore, 'subscribe' | 'close'>;

export const STORE_METHODS: readonly StoreMethod[] = [
  'queue', 'get', 'list', 'numQueued', 'revoke', 'flush', 'now', 'pull', 'start', 'finish', 'retry', 'renew',
  'release', 'recover', 'publish', 'progress', 'claimRun', 'lastRuns', 'interrupt', 'purge',
];

/** True when `name` is a method a transport may call. */
export function isStoreMethod(name: unknown): name is StoreMethod {
  return typeof name === 'string' && (STORE_METHODS as readonly string[]).includes(name);
}

/** Calls `method` of a real store with `args` (on the answering side). */
export function callStore(store: TaskStore, method: StoreMethod, args: unknown[]): Promise<unknown> {
  const fn = store[method] as ((...a: unknown[]) => Promise<unknown>) | undefined;
  return fn ? fn.apply(store, args) : Promise.resolve(undefined);
}

/** How a RemoteStore reaches the real one. */
export interface StoreTransport {
  /** Carries one call; `timeoutMs` bounds the wait for its answer. */
  call(method: StoreMethod, args: unknown[], timeoutMs: number): Promise<unknown>;
  /** Starts delivering the store's events to `listener`; resolves once they flow. */
  subscribe(listener: EventListener): Promise<() => Promise<void>>;
  /** Narrows the events its subscriptions deliver to `events` (null: every event), if it can. */
  wantEvents?(events: readonly TaskEvent[] | null): void;
  close(): Promise<void>;
}

const CALL_TIMEOUT_MS = 30_000;

/** A TaskStore over a transport. */
export class RemoteStore implements TaskStore {
  constructor(private readonly transport: StoreTransport) {}

  private call<T>(method: StoreMethod, args: unknown[], timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
    return this.transport.call(method, args, timeoutMs) as Promise<T>;
  }

  queue(tasks: WireTask[], options?: QueueRequestOptions): Promise<(string | null)[]> {
    return this.call('queue', options ? [tasks, options] : [tasks]);
  }
  get(ids: string[]): Promise<(WireTask | null)[]> {
    return this.call('get', [ids]);
  }
  list(filter: StoreFilter, page: PageRequest): Promise<TaskPage> {
    return this.call('list', [filter, page]);
  }
  numQueued(): Promise<number> {
    return this.call('numQueued', []);
  }
  revoke(id: string): Promise<boolean> {
    return this.call('revoke', [id]);
  }
  flush(): Promise<void> {
    return this.call('flush', []);
  }
  now(): Promise<number> {
    return this.call('now', []);
  }
  pull(request: PullRequest): Promise<Delivery[]> {
    return this.call('pull', [request], request.waitMs + CALL_TIMEOUT_MS);
  }
  start(task: WireTask, fence: Fence): Promise<boolean> {
    return this.call('start', [task, fence]);
  }
  finish(task: WireTask, fence: Fence): Promise<boolean> {
    return this.call('finish', [task, fence]);
  }
  retry(task: WireTask, fence: Fence): Promise<boolean> {
    return this.call('retry', [task, fence]);
  }
  renew(worker: string, deliveries: DeliveryRef[], leaseMs: number): Promise<string[]> {
    return this.call('renew', [worker, deliveries, leaseMs]);
  }
  release(worker: string, deliveries?: DeliveryRef[]): Promise<string[]> {
    return this.call('release', deliveries ? [worker, deliveries] : [worker]);
  }
  recover(request: RecoverRequest): Promise<RecoverResult> {
    return this.call('recover', [request]);
  }
  publish(event: TaskEvent, taskId: string): Promise<void> {
    return this.call('publish', [event, taskId]);
  }
  progress(taskId: string, value: Json, fence?: Fence): Promise<boolean> {
    return this.call('progress', fence ? [taskId, value, fence] : [taskId, value]);
  }
  claimRun(name: string, previousMs: number | null, ranAtMs: number, task: WireTask): Promise<string | null | false> {
    return this.call('claimRun', [name, previousMs, ranAtMs, task]);
  }
  lastRuns(): Promise<Record<string, number>> {
    return this.call('lastRuns', []);
  }
  interrupt(worker: string): Promise<void> {
    return this.call('interrupt', [worker]);
  }
  purge(olderThanMs: number, limit: number, statuses?: TaskStatus[]): Promise<number> {
    return this.call('purge', statuses ? [olderThanMs, limit, statuses] : [olderThanMs, limit]);
  }
  subscribe(listener: EventListener): Promise<() => Promise<void>> {
    return this.transport.subscribe(listener);
  }
  /**
   * The events this client's subscriptions need from now on (null: every event): the store then
   * sends no other (see EventFiltering in producer/backend-types.ts).
   */
  wantEvents(events: readonly TaskEvent[] | null): void {
    this.transport.wantEvents?.(events);
  }
  close(): Promise<void> {
    return this.transport.close();
  }
}
