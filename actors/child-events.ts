/**
 * Task events in a worker child: received only while a job listens, only the events it listens
 * to. A child's TaskBackend (ChildBackend) counts its listeners — `on`/`off`, and each running
 * `waitForTask` (it needs `task_done`) — and the EventGate keeps the upstream subscription to what
 * they want: none while nobody listens, dropped when the last listener leaves.
 *
 * Upstream is the Worker actor over IPC for local:// (it subscribes to the LocalStore and sends
 * the events a child asked for, a turn's worth in one message), or the child's own store for
 * redis:// (its subscription ends with the last listener; the events are filtered here).
 */
import { TaskBackend, type BackendOptions } from '../src/producer/backend.js';
import type { Task } from '../src/model/task.js';
import type { EventListener, TaskEvent, TaskStore } from '../src/store/contract.js';
import { getLogger } from '../src/infra/logger.js';

/** Where a child's events come from: `subscribe` again with other events changes the filter. */
export interface EventUpstream {
  subscribe(events: TaskEvent[]): Promise<void>;
  unsubscribe(): Promise<void>;
}

/** What a child's events cost it so far (read by specs through `childEventStats`). */
export interface ChildEventStats {
  /** Event messages received from upstream (IPC messages for local://, store events for redis://). */
  messages: number;
  /** Events in them. */
  events: number;
  /** The events the upstream subscription carries now (empty: none). */
  subscribed: TaskEvent[];
  /** Resolves once every change of subscription asked so far has reached upstream. */
  settled(): Promise<void>;
}

const STATS = Symbol.for('pulsar-tasks.child-events');

/** The event statistics of this child (null outside a worker child). */
export function childEventStats(): ChildEventStats | null {
  return ((globalThis as Record<symbol, unknown>)[STATS] as ChildEventStats | undefined) ?? null;
}

const log = getLogger('pulsar.child-events');

/** Keeps the upstream subscription to the events listened to here; delivers those only. */
export class EventGate {
  private readonly demand = new Map<TaskEvent, number>();
  private sink: EventListener | null = null;
  private active = '';
  private chain: Promise<void> = Promise.resolve();
  private readonly upstream: EventUpstream;
  readonly stats: ChildEventStats;

  /** `upstream` is made for this gate: it hands each event to `deliver` and counts its messages with `received`. */
  constructor(upstream: (gate: EventGate) => EventUpstream) {
    this.upstream = upstream(this);
    this.stats = { messages: 0, events: 0, subscribed: [], settled: () => this.chain };
    (globalThis as Record<symbol, unknown>)[STATS] = this.stats;
  }

  /** Events from upstream: to the backend, for the events somebody listens to now. */
  readonly deliver: EventListener = (event, id) => {
    if (this.demand.has(event)) this.sink?.(event, id);
  };

  /** Counts one message from upstream carrying `count` events. */
  received(count: number): void {
    this.stats.messages += 1;
    this.stats.events += count;
  }

  /**
   * Takes over `store.subscribe` (this child's own store): the backend's listener comes here, and
   * nothing is subscribed upstream until somebody listens. Patched on the instance rather than
   * proxied: a proxy would cost every store call a lookup and a bound function.
   */
  wrap(store: TaskStore): TaskStore {
    store.subscribe = (listener: EventListener) => this.attach(listener);
    return store;
  }

  private attach(listener: EventListener): Promise<() => Promise<void>> {
    this.sink = listener;
    return Promise.resolve(async () => {
      // The backend closes: its listeners go, and so does the subscription (not awaited: the
      // parent may already be gone, and a close must not wait for its answer).
      this.sink = null;
      this.demand.clear();
      this.sync().catch(() => undefined);
    });
  }

  /** One more listener of `event`; resolves once upstream sends it. */
  acquire(event: TaskEvent): Promise<void> {
    this.demand.set(event, (this.demand.get(event) ?? 0) + 1);
    return this.sync();
  }

  /** One listener of `event` fewer: with the last one of every event the subscription ends. */
  release(event: TaskEvent): void {
    const left = (this.demand.get(event) ?? 0) - 1;
    if (left > 0) this.demand.set(event, left);
    else this.demand.delete(event);
    void this.sync().catch((err: unknown) => log.warn(`cannot drop the event subscription: ${String(err)}`));
  }

  /** Brings upstream to the events wanted now, after the changes asked before (one at a time). */
  private sync(): Promise<void> {
    const next = this.chain.then(async () => {
      const wanted = [...this.demand.keys()].sort();
      const key = wanted.join(',');
      if (key === this.active) return;
      if (wanted.length) await this.upstream.subscribe(wanted);
      else await this.upstream.unsubscribe();
      this.active = key;
      this.stats.subscribed = wanted;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}

/** An upstream over a store of the child's own (redis://): its `subscribe`, taken before the gate's `wrap`. */
export function storeUpstream(store: TaskStore): (gate: EventGate) => EventUpstream {
  const subscribe = store.subscribe.bind(store);
  return (gate) => {
    let off: (() => Promise<void>) | null = null;
    return {
      async subscribe() {
        off ??= await subscribe((event, id) => {
          gate.received(1);
          gate.deliver(event, id);
        });
      },
      async unsubscribe() {
        const drop = off;
        off = null;
        await drop?.();
      },
    };
  };
}

type Listener = (taskId: string) => void;

/**
 * A worker child's TaskBackend: it counts its listeners for the EventGate. A job that listens
 * (`consumer.backend.on`, `waitForTask`) makes the child subscribe; `off` and the end of the
 * wait let it unsubscribe.
 */
export class ChildBackend extends TaskBackend {
  private readonly counted = new Map<TaskEvent, Map<Listener, number>>();

  constructor(
    store: TaskStore,
    options: BackendOptions,
    private readonly gate: EventGate,
  ) {
    super(gate.wrap(store), options);
  }

  override on(event: TaskEvent, listener: Listener): this {
    super.on(event, listener);
    let byListener = this.counted.get(event);
    if (!byListener) this.counted.set(event, (byListener = new Map()));
    byListener.set(listener, (byListener.get(listener) ?? 0) + 1);
    this.gate.acquire(event).catch((err: unknown) => log.error(`cannot subscribe to ${event}: ${String(err)}`));
    return this;
  }

  override off(event: TaskEvent, listener: Listener): this {
    super.off(event, listener);
    const byListener = this.counted.get(event);
    const count = byListener?.get(listener) ?? 0;
    if (!byListener || !count) return this;
    if (count > 1) byListener.set(listener, count - 1);
    else byListener.delete(listener);
    this.gate.release(event);
    return this;
  }

  override async waitForTask(id: string, timeout?: number): Promise<Task | null> {
    try {
      // A failed subscription only slows the wait down: the waiter reads the task again now and then.
      await this.gate.acquire('task_done').catch((err: unknown) => log.warn(`cannot subscribe to task_done: ${String(err)}`));
      return await super.waitForTask(id, timeout);
    } finally {
      this.gate.release('task_done');
    }
  }
}
