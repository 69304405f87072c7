/**
 * pulsar-tasks: public exports.
 */
export * from './states.js';
export { Task, taskFromWire, taskToWire, type WireTask, type TaskFields } from './task.js';
export type { Json, JsonObject } from './json.js';
export {
  PulsarTasksError,
  TaskNotAvailable,
  TaskTimeoutError,
  ImproperlyConfigured,
  InvalidTaskArguments,
  AskTimeoutError,
  BackendUnavailable,
} from './errors.js';
export { Job, PeriodicJob, type JobClass, type JobType, type CanOverlap } from './job.js';
export { JobRegistry } from './registry.js';
export { SchedulerEntry, anchorDate } from './scheduler.js';
export { generateTaskIds } from './ids.js';
export { TaskConsumer, type WorkerInfo } from './consumer.js';
export type { QueueOptions } from './options.js';
export { TaskBackend, type BackendOptions, type QueueItem, type TaskFilter, type JobListEntry } from './backend.js';
export { TASK_EVENTS, type TaskEvent, type TaskStore, type StoreFilter } from './store.js';
export { Logger, getLogger, configureLogging, type LogLevel } from './logger.js';
export { TaskQueue, type TaskQueueConfig, type Concurrency, type MonitorView, type WorkerView } from './taskqueue.js';
export { Arbiter, spawnArbiter, type ArbiterOptions, type Application } from '../actors/arbiter.js';
export type { QueueRequest, MonitorMessage } from '../actors/protocol.js';
export type { TypedRef, Reply } from '../actors/refs.js';
export { monitorQueueApi } from '../actors/queue-protocol.js';
export type { QueueApi, AppContext, ServiceApp } from './app.js';
export { createBackend, type ProducerOptions } from './create-backend.js';
export { taskBackends, type StoreClass, type StoreOptions } from './config.js';
import './backends/index.js';
export { RpcServer, RPC_TOKEN_ENV, type RpcServerOptions } from './rpc/server.js';
export { RpcClient, RpcConnectionError, type RpcClientOptions, type RpcTaskFilter } from './rpc/client.js';
export { RpcError, RPC_CODES } from './rpc/protocol.js';
