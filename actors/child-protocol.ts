/**
 * Messages between a Worker actor (in the arbiter) and its child (process or thread).
 */
import type { WireError } from '../src/error-codec.js';
import type { StoreMethod } from '../src/backends/remote.js';
import type { TaskEvent } from '../src/store.js';
import type { LogLevel } from '../src/logger.js';

/** What a child needs to build its backend and run. */
export interface ChildConfig {
  workerId: string;
  name: string;
  url: string;
  taskPaths: string[];
  cwd: string;
  concurrentTasks: number;
  maxTasks: number;
  pollTimeout: number;
  leaseTimeout: number;
  maxRedeliveries: number;
  heartbeatMs: number;
  logLevel: LogLevel;
  logJson: boolean;
}

export type ToChild =
  | { type: 'init'; config: ChildConfig }
  | { type: 'store_reply'; rid: number; ok: true; value: unknown }
  | { type: 'store_reply'; rid: number; ok: false; error: WireError }
  | { type: 'event'; event: TaskEvent; id: string }
  | { type: 'shutdown'; graceMs: number };

export type FromChild =
  | { type: 'ready'; pid: number; threadId?: number }
  | { type: 'heartbeat'; running: number; processed: number }
  | { type: 'store_call'; rid: number; method: StoreMethod; args: unknown[] }
  | { type: 'subscribe' }
  | { type: 'idle' }
  | { type: 'stuck'; taskId: string }
  | { type: 'stopped' }
  | { type: 'fatal'; message: string };

/** True for a message a child may send. */
export function isFromChild(value: unknown): value is FromChild {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
