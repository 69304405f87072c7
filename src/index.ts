/**
 * pulsar-tasks: public exports.
 */
export * from './model/states.js';
export { Task, taskFromWire, taskToWire, type WireTask, type TaskFields } from './model/task.js';
export type { Json, JsonObject } from './model/json.js';
export {
  PulsarTasksError,
  TaskNotAvailable,
  TaskTimeoutError,
  ImproperlyConfigured,
  InvalidTaskArguments,
  AskTimeoutError,
  BackendClosed,
  BackendUnavailable,
} from './model/errors.js';
export { Job, PeriodicJob, type JobClass, type JobConsumer, type JobType, type CanOverlap } from './job/job.js';
export { JobRegistry } from './job/registry.js';
export type { KwargsSchema } from './job/kwargs-schema.js';
export type { StandardSchemaV1 } from './job/standard-schema.js';
export { DEFAULT_LIMITS, type TaskLimits } from './model/limits.js';
export { SchedulerEntry, anchorDate } from './job/scheduler.js';
export { generateTaskIds } from './job/ids.js';
export { TaskConsumer, type WorkerInfo } from './worker/consumer.js';
export type { QueueOptions } from './model/options.js';
export { TaskBackend, type BackendOptions, type QueueItem, type TaskFilter, type JobListEntry } from './producer/backend.js';
export { TASK_EVENTS, type TaskEvent, type TaskStore, type StoreFilter } from './store/contract.js';
export { Logger, getLogger, configureLogging, type LogLevel } from './infra/logger.js';
export { TaskQueue, type TaskQueueConfig, type Concurrency, type MonitorView, type WorkerView } from './app/taskqueue.js';
export { Arbiter, spawnArbiter, ApplicationFailed, type ArbiterOptions, type Application } from '../actors/arbiter.js';
export { RestartBudgetExceeded, MonitorCrashed } from '../actors/monitor.js';
export type { QueueRequest, MonitorMessage, QueueRefMessage, QueueSubscription, TaskEventMessage, ArbiterNotice } from '../actors/protocol.js';
export { askReply, isOk, ActorGone, type TypedRef, type Reply, type ReplyTo, type ReplyAddress } from '../actors/refs.js';
export { monitorQueueApi } from '../actors/queue-protocol.js';
export type { QueueApi, AppContext, ServiceApp } from './app/app.js';
export { createBackend, type ProducerOptions } from './producer/create-backend.js';
export { taskBackends, type StoreClass, type StoreOptions } from './store/schemes.js';
import './backends/index.js';
export { RpcServer, RPC_TOKEN_ENV, type RpcServerOptions } from './rpc/server.js';
export { RpcClient, RpcConnectionError, type RpcClientOptions, type RpcTaskFilter } from './rpc/client.js';
export { RpcError, RPC_CODES } from './rpc/protocol.js';
export { type RpcQueueOptions } from './rpc/client.js';
export { QUEUE_TASK_OPTIONS, QUEUE_TASK_RESERVED } from './rpc/queue-params.js';
export { retryTask, purgeTasks, TaskNotFound, TaskNotRetryable, InvalidOperation, RETRY_OF } from './producer/operations.js';
export { metricsHub, MetricsHub } from './metrics/hub.js';
