/**
 * The events of one TaskBackend: its listeners, its one subscription to the store (made on first
 * use, `task_done` at least, for the waiters), and what it tells a store that can narrow its
 * events (local://, redis://): `task_done` and the events somebody listens to, nothing else.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../infra/logger.js';
import { TASK_EVENTS, type TaskEvent, type TaskStore } from '../store/contract.js';
import type { EventFiltering } from './backend-types.js';
import type { TaskWaiters } from './task-waiters.js';

/** A backend's listeners and store subscription. */
export class BackendEvents {
  private readonly emitter = new EventEmitter();
  private unsubscribe: Promise<() => Promise<void>> | null = null;
  /** The events the store client was last told this backend needs (see narrow). */
  private wantedEvents: string | null = null;
  /** The last subscription change the store confirms (or confirmed), if it does. */
  private narrowing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly store: TaskStore,
    private readonly waiters: TaskWaiters,
    private readonly log: Logger,
  ) {
    this.emitter.setMaxListeners(0);
  }

  /** A subscription is made (or being made): broadcasts reach this backend. */
  get subscribed(): boolean {
    return this.unsubscribe !== null;
  }

  on(event: TaskEvent, listener: (taskId: string) => void): void {
    this.emitter.on(event, listener);
    void this.ensureSubscribed().catch((err: unknown) => this.log.error(`cannot subscribe to events: ${String(err)}`));
    this.narrow();
  }

  off(event: TaskEvent, listener: (taskId: string) => void): void {
    this.emitter.off(event, listener);
    this.narrow();
  }

  /** Resolves once this backend receives the application's broadcasts it listens to. */
  ensureSubscribed(): Promise<unknown> {
    const subscribed = this.subscription();
    return this.narrowing ? Promise.all([subscribed, this.narrowing]) : subscribed;
  }

  /** The store subscription (made on first use), with `task_done` at least. */
  subscription(): Promise<() => Promise<void>> {
    if (!this.unsubscribe) {
      this.unsubscribe = this.store.subscribe((event, id, stored) => {
        if (event === 'task_done') this.waiters.notify(id, stored);
        this.emitter.emit(event, id);
      });
      this.wantedEvents = null;
      this.narrow();
    }
    return this.unsubscribe;
  }

  /** The subscription failed with the store (an outage): the next use subscribes again. */
  forget(): void {
    this.unsubscribe = null;
  }

  /** The backend is closing: no more subscription changes (its store closes with it). */
  freeze(): void {
    this.closed = true;
  }

  /** Ends the subscription (the store may already be gone). */
  async close(): Promise<void> {
    this.closed = true;
    if (!this.unsubscribe) return;
    try {
      await (await this.unsubscribe)();
    } catch {
      // the store may already be gone
    }
  }

  /**
   * Tells a store client that can narrow its events which ones this backend needs: `task_done`
   * (waiters) and those with listeners. Nothing else crosses the mailbox or the subscriber
   * connection; `ensureSubscribed` waits for the change to be confirmed.
   */
  private narrow(): void {
    const store = this.store as Partial<EventFiltering>;
    // A closed backend's store is closed too: listeners that go now change nothing.
    if (!store.wantEvents || !this.unsubscribe || this.closed) return;
    const events = TASK_EVENTS.filter((e) => e === 'task_done' || this.emitter.listenerCount(e) > 0);
    const key = events.join();
    if (key === this.wantedEvents) return;
    this.wantedEvents = key;
    const change = store.wantEvents(events);
    this.narrowing = change
      ? change.catch((err: unknown) => {
          // A change still on its way when the backend closed fails with the connection: not news.
          if (!this.closed) this.log.error(`cannot change the event subscription: ${String(err)}`);
        })
      : null;
  }
}
