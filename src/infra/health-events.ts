/**
 * Process-wide health signals that metrics count: a connection error of a Redis store, the start
 * and the end of an outage. Backends report here; src/metrics listens. Nothing is kept when no
 * one listens.
 */
import { EventEmitter } from 'node:events';

/** What a backend reports. */
export type HealthEvent = 'redis_error' | 'redis_down' | 'redis_up';

const emitter = new EventEmitter();
emitter.setMaxListeners(0);

/** Reports a health event (cheap when nothing listens). */
export function reportHealth(event: HealthEvent): void {
  if (emitter.listenerCount(event)) emitter.emit(event);
}

/** Listens to a health event; returns the function that stops listening. */
export function onHealth(event: HealthEvent, listener: () => void): () => void {
  emitter.on(event, listener);
  return () => emitter.off(event, listener);
}
