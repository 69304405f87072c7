/**
 * Broadcasts of the redis:// store: each event of an application on its own namespaced pub/sub
 * channel. A message carries the ids of every task one script run changed, space-separated (one
 * id alone when it changed one task); each id reaches the listeners as one event. One subscriber
 * connection per store serves every listener, subscribed only to the channels of the events
 * somebody wants (`wantEvents`; every event until told): Redis then fans out fewer messages and
 * this process parses fewer.
 *
 * A small finish batch also publishes, on a channel of its own and before the `task_done` ids,
 * each ready task's stored fields: the `task_done` event of such an id then hands its listeners the
 * task (EventListener's `stored`), and a waiter resolves without reading it. Those messages wait
 * here for their `task_done` (next on the same connection); a `task_done` without one reads as before.
 *
 * The subscription has an epoch: a number that changes whenever the subscriber connection drops
 * (messages may have been lost) and that is null while the `task_done` channels are not
 * confirmed on the current connection. A caller that saw the same epoch before and after knows
 * it missed no `task_done` in between.
 */
import { TASK_EVENTS, type EventListener, type TaskEvent } from '../../store/contract.js';
import type { RedisKeys } from './redis-codec.js';
import { decodeTask } from './redis-decode.js';
import type { WireTask } from '../../model/task.js';
import { isConnectionError, type RedisLink } from './redis-link.js';

/** The listeners of one store and its subscription. */
export class RedisEvents {
  private readonly listeners = new Set<EventListener>();
  /** Event of each channel of the application. */
  private readonly events = new Map<string, TaskEvent>();
  /** The events wanted (null: every event). */
  private wanted: ReadonlySet<TaskEvent> | null = null;
  /** Channels subscribed to, or being subscribed to, on the subscriber connection. */
  private readonly subscribed = new Set<string>();
  private subscribing: Promise<void> | null = null;
  /** Channel changes, in order (each waits for the one before). */
  private changing: Promise<void> = Promise.resolve();
  private epoch = 0;
  /** The `task_done` channels are confirmed on the current connection. */
  private live = false;
  /** The channels of the ready tasks' fields (RedisKeys.doneTasks), subscribed with `task_done`. */
  private readonly doneTasks = new Set<string>();
  /** Fields of ready tasks by id (JSON), until their `task_done` arrives. */
  private readonly pending = new Map<string, string>();

  /** `keys`: of the app, or of each of its shards (their channels are listened to together). */
  constructor(
    keys: RedisKeys | readonly RedisKeys[],
    private readonly link: RedisLink,
  ) {
    for (const k of Array.isArray(keys) ? keys : [keys]) {
      for (const event of TASK_EVENTS) this.events.set(k.channel(event), event);
      this.doneTasks.add(k.doneTasks);
    }
  }

  /**
   * Resolves once Redis confirmed the subscription to the channels of the wanted events, the
   * channel changes asked before this call included (a worker child's event gate subscribes right
   * after its backend asked for a new listener's channels: actors/child-events.ts).
   */
  async subscribe(listener: EventListener): Promise<() => Promise<void>> {
    this.link.checkOpen();
    this.listeners.add(listener);
    try {
      await (this.subscribing ??= this.startSubscriber());
      await this.changing;
    } catch (err) {
      this.subscribing = null;
      this.listeners.delete(listener);
      throw isConnectionError(err) ? this.link.unavailable(err) : err;
    }
    return async () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Narrows the subscription to `events` (null: every event). Resolves once Redis confirmed the
   * change (at once before the first `subscribe`, which subscribes to these).
   */
  wantEvents(events: readonly TaskEvent[] | null): Promise<void> {
    this.wanted = events ? new Set(events) : null;
    if (!this.subscribing) return Promise.resolve();
    return this.resubscribe();
  }

  /**
   * The subscription's epoch (see the module's note): null while `task_done` broadcasts may be
   * missed, else a number that changes when the subscriber connection drops.
   */
  subscriptionEpoch(): number | null {
    return this.live ? this.epoch : null;
  }

  /** Forgets every listener (the store closes). */
  clear(): void {
    this.listeners.clear();
    this.pending.clear();
    this.live = false;
  }

  private channelsWanted(): string[] {
    const out: string[] = [];
    for (const [channel, event] of this.events) if (!this.wanted || this.wanted.has(event)) out.push(channel);
    if (this.doneWanted()) out.push(...this.doneTasks);
    return out;
  }

  /** A ready task's fields arrived ahead of its `task_done`: `<id> <JSON array>`. */
  private keepDone(message: string): void {
    const space = message.indexOf(' ');
    if (space <= 0) return;
    // Each is taken by its task_done, next on this connection; a bound for any left by a lost one.
    if (this.pending.size >= MAX_PENDING) this.pending.clear();
    this.pending.set(message.slice(0, space), message.slice(space + 1));
  }

  /** The `stored` of a `task_done` event: the fields that came ahead of it, if any. */
  private takeDone(id: string): (() => WireTask | null) | undefined {
    const json = this.pending.get(id);
    if (json === undefined) return undefined;
    this.pending.delete(id);
    return () => {
      try {
        return decodeTask(JSON.parse(json), id);
      } catch {
        return null;
      }
    };
  }

  private doneWanted(): boolean {
    return !this.wanted || this.wanted.has('task_done');
  }

  /** Brings the subscriber's channels to those wanted now (after any change still on its way). */
  private resubscribe(): Promise<void> {
    const run = this.changing.then(async () => {
      await this.subscribing;
      const sub = this.link.subscriber;
      const target = new Set(this.channelsWanted());
      const add = [...target].filter((c) => !this.subscribed.has(c));
      const drop = [...this.subscribed].filter((c) => !target.has(c));
      const epoch = this.epoch;
      for (const c of add) this.subscribed.add(c);
      for (const c of drop) this.subscribed.delete(c);
      if (!this.doneWanted()) this.live = false;
      // Disconnected: the reconnection subscribes to what is wanted then (resubscribeAll).
      if (sub.status !== 'ready') return;
      if (add.length) await sub.subscribe(...add);
      if (drop.length) await sub.unsubscribe(...drop);
      if (this.doneWanted() && epoch === this.epoch && sub.status === 'ready') this.live = true;
    });
    this.changing = run.catch(() => undefined);
    return run;
  }

  private async startSubscriber(): Promise<void> {
    const sub = this.link.subscriber;
    if (!sub.listenerCount('message')) {
      sub.on('message', (channel: string, message: string) => {
        const event = this.events.get(channel);
        if (!event) {
          if (this.doneTasks.has(channel)) this.keepDone(message);
          return;
        }
        if (this.wanted && !this.wanted.has(event)) return;
        const done = event === 'task_done' && this.pending.size > 0;
        for (const id of message.split(' ')) {
          if (!id) continue;
          const stored = done ? this.takeDone(id) : undefined;
          for (const listener of this.listeners) {
            try {
              listener(event, id, stored);
            } catch {
              // one listener's fault must not keep the event from the others
            }
          }
        }
      });
      // Messages published while the connection is down are lost: a new epoch. ioredis subscribes
      // again on its own once it reconnects; the epoch is live again once Redis confirmed it.
      sub.on('close', () => {
        this.epoch += 1;
        this.live = false;
        this.pending.clear();
      });
      sub.on('ready', () => {
        if (this.subscribing && this.subscribed.size) void this.resubscribeAll().catch(() => undefined);
      });
    }
    await this.link.ready(sub);
    const channels = this.channelsWanted();
    const epoch = this.epoch;
    for (const c of channels) this.subscribed.add(c);
    await sub.subscribe(...channels);
    if (this.doneWanted() && epoch === this.epoch) this.live = true;
  }

  /**
   * After a reconnection: confirms the channels wanted (SUBSCRIBE is idempotent) and drops any
   * other that ioredis subscribed again, then live.
   */
  private async resubscribeAll(): Promise<void> {
    const sub = this.link.subscriber;
    const epoch = this.epoch;
    const unwanted = [...this.events.keys(), ...this.doneTasks].filter((c) => !this.subscribed.has(c));
    if (unwanted.length) await sub.unsubscribe(...unwanted);
    await sub.subscribe(...this.subscribed);
    if (this.doneWanted() && epoch === this.epoch && sub.status === 'ready') this.live = true;
  }
}

/** Ready tasks' fields kept for their `task_done` at most (more means some were lost: dropped). */
const MAX_PENDING = 10_000;
