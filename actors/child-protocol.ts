/**
 * Messages between a Worker actor (in the arbiter) and its child (process or thread).
 *
 * Store calls travel in batches: every call a child makes in one turn of its event loop goes in
 * one `store_calls` message, and the replies to one such message go back in one `store_replies`
 * message (a pull, which may wait for work, in one of its own). Each IPC message costs a
 * serialization and a syscall on both sides; per task that used to be the arbiter's largest cost.
 */
import type { TaskLimits } from '../src/model/limits.js';
import type { WireError } from '../src/model/error-codec.js';
import type { StoreMethod } from '../src/backends/remote.js';
import type { TaskEvent } from '../src/store/contract.js';
import type { LogLevel } from '../src/infra/logger.js';

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
  limits: TaskLimits;
  heartbeatMs: number;
  /** Seconds a timed-out job may ignore its abort signal (the parent kills the child after). */
  stuckGrace: number;
  logLevel: LogLevel;
  logJson: boolean;
}

/** One store call of a child; `rid` pairs it with its reply. */
export interface StoreCall {
  rid: number;
  method: StoreMethod;
  args: unknown[];
}

/**
 * What the parent needs to time a run from outside (see run-watch.ts): `run` when a job starts,
 * `settled` when that run is over. The notes of one turn travel in one `runs` message.
 */
export type RunNote =
  | { kind: 'run'; id: string; name: string; token: number; startedAtMs: number; timeoutMs: number | null }
  | { kind: 'settled'; id: string; token: number };

/** The outcome of one store call: each call of a batch succeeds or fails on its own. */
export type StoreReply = { rid: number; ok: true; value: unknown } | { rid: number; ok: false; error: WireError };

export type ToChild =
  | { type: 'init'; config: ChildConfig }
  | { type: 'store_replies'; replies: StoreReply[] }
  /** The events of a turn a child subscribed to, in the order the store emitted them. */
  | { type: 'events'; events: { event: TaskEvent; id: string }[] }
  | { type: 'shutdown'; graceMs: number };

export type FromChild =
  | { type: 'ready'; pid: number; threadId?: number }
  | { type: 'heartbeat'; running: number; processed: number; lost: number }
  | { type: 'store_calls'; calls: StoreCall[] }
  /**
   * Send me these events (replacing the events asked before); answered by a store reply to `rid`
   * once they flow. Sent only while a job listens (see child-events.ts).
   */
  | { type: 'subscribe'; rid: number; events: TaskEvent[] }
  /** No more events (the last listener left); answered by a store reply to `rid`. */
  | { type: 'unsubscribe'; rid: number }
  | { type: 'idle' }
  | { type: 'runs'; notes: RunNote[] }
  | { type: 'stopped' }
  | { type: 'fatal'; message: string };

/** True for a message a child may send. */
export function isFromChild(value: unknown): value is FromChild {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

