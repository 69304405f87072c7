/**
 * The monitor of a service application (RpcServer and the like): starts it with its context,
 * answers `info`, and stops it on `shutdown`.
 */
import type { AppContext, ServiceApp } from '../src/app/app.js';
import type { JsonObject } from '../src/model/json.js';
import { assertNever, type ServiceMessage } from './protocol.js';
import { replyWith, spawnHandler, stopActor, type AnyRef, type TypedRef } from './refs.js';

export interface ServiceMonitor {
  ref: TypedRef<ServiceMessage>;
  app: ServiceApp;
  shutdown(): Promise<void>;
}

/** Starts `app` under its own monitor actor; rejects (actor stopped) when it cannot start. */
export async function startServiceMonitor(app: ServiceApp, parent: AnyRef, context: AppContext): Promise<ServiceMonitor> {
  let stopping: Promise<void> | null = null;
  const shutdown = (): Promise<void> => {
    stopping ??= app.stop().finally(() => stopActor(ref));
    return stopping;
  };
  const ref = spawnHandler<ServiceMessage>(parent, `monitor-${app.name}`, (message) => {
    switch (message.type) {
      case 'info':
        return replyWith(message.replyTo, async () => app.info() as JsonObject);
      case 'shutdown':
        return replyWith(message.replyTo, () => shutdown().then(() => true as const));
      default:
        assertNever(message);
    }
  });
  try {
    await app.start(context);
  } catch (err) {
    stopActor(ref);
    throw err;
  }
  return { ref, app, shutdown };
}
