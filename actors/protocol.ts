/**
 * The message unions of every actor, discriminated on `type`. Requests carry the `replyTo` their
 * answer goes to (an actor ref, or an ask's reply address); answers are `Reply<T>` (a value, or an
 * error as data).
 */
import type { JobListEntry, QueueItem, TaskFilter } from '../src/producer/backend.js';
import type { Json, JsonObject } from '../src/model/json.js';
import type { TaskStatus } from '../src/model/states.js';
import type { WireError } from '../src/model/error-codec.js';
import type { QueueOptions } from '../src/model/options.js';
import type { QueueOperation } from '../src/producer/operations.js';
import type { TaskEvent } from '../src/store/contract.js';
import type { WireTask } from '../src/model/task.js';
import type { Reply, ReplyTo, TypedRef } from './refs.js';
import type { StoreCall, StoreReply } from './child-protocol.js';
import type { ExitReason } from './supervision.js';

/** Events of the store in the order emitted, delivered to a batched subscriber actor. */
export type StoreEventsMessage = { type: 'events'; events: { event: TaskEvent; id: string }[] };

/** Answers to a `calls` message, correlated by `rid` (a batch's pulls may come in later messages). */
export type StoreRepliesMessage = { type: 'store_replies'; replies: StoreReply[] };

/** The LocalStore actor (local:// only). */
export type LocalStoreMessage =
  | { type: 'calls'; calls: StoreCall[]; replyTo: TypedRef<StoreRepliesMessage> }
  | { type: 'subscribe_batched'; key: string; subscriber: TypedRef<StoreEventsMessage>; replyTo: ReplyTo<Reply<true>> }
  | { type: 'unsubscribe'; key: string }
  /** The events subscription `key` wants from now on (null: every event). */
  | { type: 'subscription_events'; key: string; events: TaskEvent[] | null }
  | { type: 'shutdown'; replyTo: ReplyTo<Reply<true>> };

/**
 * The public protocol of a TaskQueue's monitor, for actor-based apps that embed the queue
 * (SPEC §6). Each message is answered to its `replyTo` with a Reply.
 */
export type QueueRequest =
  | { type: 'queue_task'; jobName: string; kwargs?: JsonObject; options?: QueueOptions; replyTo: ReplyTo<Reply<string | null>> }
  | { type: 'queue_tasks'; items: QueueItem[]; replyTo: ReplyTo<Reply<(string | null)[]>> }
  | { type: 'get_task'; id: string; replyTo: ReplyTo<Reply<WireTask | null>> }
  | { type: 'get_tasks'; filter?: TaskFilter; replyTo: ReplyTo<Reply<WireTask[]>> }
  | { type: 'wait_for_task'; id: string; timeout?: number; replyTo: ReplyTo<Reply<WireTask | null>> }
  | { type: 'num_tasks'; replyTo: ReplyTo<Reply<number>> }
  | { type: 'revoke_task'; id: string; replyTo: ReplyTo<Reply<boolean>> }
  | { type: 'job_list'; jobNames?: string[] | null; replyTo: ReplyTo<Reply<JobListEntry[]>> }
  | { type: 'next_scheduled'; jobNames?: string[] | null; replyTo: ReplyTo<Reply<[string, number] | [string[] | null, null] | null>> }
  | { type: 'info'; replyTo: ReplyTo<Reply<JsonObject>> }
  /** Operations beyond pulsar (retry, purge, ...): src/producer/operations.ts. */
  | { type: 'operation'; operation: QueueOperation; replyTo: ReplyTo<Reply<unknown>> };

/**
 * A task event delivered to a subscriber actor: the task's id and job name, and for `task_done`
 * its final status and result.
 */
export interface TaskEventMessage {
  type: 'task_event';
  /** The TaskQueue's name. */
  queue: string;
  event: TaskEvent;
  id: string;
  name?: string;
  status?: TaskStatus;
  result?: Json;
}

/**
 * Subscriptions of actors to a queue's task events (all four when `events` is omitted; only the
 * tasks of `jobNames` when given). A subscription ends with `unsubscribe`, or by itself once the
 * subscriber stopped.
 */
export type QueueSubscription =
  | { type: 'subscribe'; subscriber: TypedRef<TaskEventMessage>; events?: TaskEvent[]; jobNames?: string[]; replyTo: ReplyTo<Reply<true>> }
  | { type: 'unsubscribe'; subscriber: TypedRef<TaskEventMessage>; replyTo?: ReplyTo<Reply<true>> };

/** What a queue's ref (`arbiter.queueRef(name)`, `tq.ref`) accepts. */
export type QueueRefMessage = QueueRequest | QueueSubscription;

/**
 * What an arbiter tells its supervisor actor (the embedding parent, or the `supervisor` option):
 * a TaskQueue restarting after a failure, and a TaskQueue the arbiter gave up on.
 */
export type ArbiterNotice =
  | { type: 'pulsar_app_restarting'; arbiter: string; app: string; error: WireError; attempt: number; delayMs: number }
  | { type: 'pulsar_app_failed'; arbiter: string; app: string; error: WireError };

/** What workers and timers tell a monitor. */
export type MonitorInternal =
  | { type: 'worker_ready'; workerId: string; pid: number; threadId?: number }
  | { type: 'worker_heartbeat'; workerId: string; running: number; processed: number; lost: number }
  | { type: 'worker_exit'; workerId: string; reason: ExitReason; detail: string }
  /** An inline worker's job ignores its timeout (it cannot be killed). */
  | { type: 'worker_stuck'; workerId: string; taskId: string }
  /** Stop now: every worker's tasks handed back, children killed (a second Ctrl-C). */
  | { type: 'hurry' }
  | { type: 'shutdown'; replyTo: ReplyTo<Reply<true>> };

export type MonitorMessage = QueueRequest | MonitorInternal;

/** A Worker actor (the arbiter's side of one worker). */
export type WorkerMessage =
  /** The events of a turn, while its child subscribed (local://). */
  | StoreEventsMessage
  | { type: 'shutdown'; graceMs: number; replyTo: ReplyTo<Reply<true>> }
  | { type: 'kill'; reason: ExitReason; detail: string };

/** A service application's monitor (RpcServer and the like). */
export type ServiceMessage = { type: 'info'; replyTo: ReplyTo<Reply<JsonObject>> } | { type: 'shutdown'; replyTo: ReplyTo<Reply<true>> };

/** Exhaustiveness check for message switches. */
export function assertNever(value: never): never {
  throw new Error(`Unexpected message: ${JSON.stringify(value)}`);
}
