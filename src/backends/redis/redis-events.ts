/**
 * Broadcasts of the redis:// store: each event of an application on its own namespaced pub/sub
 * channel. A message carries the ids of every task one script run changed, space-separated (one
 * id alone when it changed one task); each id reaches the listeners as one event. One subscriber
 * connection per store serves every listener.
 */
import { TASK_EVENTS, type EventListener, type TaskEvent } from '../../store/contract.js';
import type { RedisKeys } from './redis-codec.js';
import { isConnectionError, type RedisLink } from './redis-link.js';

/** The listeners of one store and its subscription. */
export class RedisEvents {
  private readonly listeners = new Set<EventListener>();
  /** Event of each channel of the application. */
  private readonly events = new Map<string, TaskEvent>();
  private subscribing: Promise<void> | null = null;

  /** `keys`: of the app, or of each of its shards (their channels are listened to together). */
  constructor(
    keys: RedisKeys | readonly RedisKeys[],
    private readonly link: RedisLink,
  ) {
    for (const k of Array.isArray(keys) ? keys : [keys]) for (const event of TASK_EVENTS) this.events.set(k.channel(event), event);
  }

  /** Resolves once Redis confirmed the subscription to every channel of the app. */
  async subscribe(listener: EventListener): Promise<() => Promise<void>> {
    this.link.checkOpen();
    this.listeners.add(listener);
    try {
      await (this.subscribing ??= this.startSubscriber());
    } catch (err) {
      this.subscribing = null;
      this.listeners.delete(listener);
      throw isConnectionError(err) ? this.link.unavailable(err) : err;
    }
    return async () => {
      this.listeners.delete(listener);
    };
  }

  /** Forgets every listener (the store closes). */
  clear(): void {
    this.listeners.clear();
  }

  private async startSubscriber(): Promise<void> {
    const sub = this.link.subscriber;
    if (!sub.listenerCount('message')) {
      sub.on('message', (channel: string, message: string) => {
        const event = this.events.get(channel);
        if (!event) return;
        for (const id of message.split(' ')) {
          if (!id) continue;
          for (const listener of this.listeners) {
            try {
              listener(event, id);
            } catch {
              // one listener's fault must not keep the event from the others
            }
          }
        }
      });
    }
    await this.link.ready(sub);
    await sub.subscribe(...this.events.keys());
  }
}
