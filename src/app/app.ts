/**
 * What the arbiter runs: TaskQueues, and service applications (such as RpcServer) that reach a
 * TaskQueue only through a QueueApi (actor messages to its monitor).
 */
import type { JobListEntry, QueueItem, TaskFilter, TaskList, TaskListRequest } from '../producer/backend.js';
import type { Json, JsonObject } from '../model/json.js';
import type { Logger } from '../infra/logger.js';
import type { QueueOptions } from '../model/options.js';
import type { Task } from '../model/task.js';
import type { TaskStatus } from '../model/states.js';

/** A TaskQueue's operations as another application sees them (answered by its monitor). */
export interface QueueApi {
  readonly name: string;
  queueTask(jobName: string, kwargs?: JsonObject, options?: QueueOptions): Promise<string | null>;
  queueTasks(items: QueueItem[]): Promise<(string | null)[]>;
  getTask(id: string): Promise<Task | null>;
  getTasks(filter?: TaskFilter): Promise<Task[]>;
  /** Rejects TaskTimeoutError after `timeout` seconds. */
  waitForTask(id: string, timeout?: number): Promise<Task | null>;
  numTasks(): Promise<number>;
  revokeTask(id: string): Promise<boolean>;
  jobList(jobNames?: string[] | null): Promise<JobListEntry[]>;
  nextScheduled(jobNames?: string[] | null): Promise<[string, number] | [string[] | null, null] | null>;
  /** The monitor's info: workers (id, pid/thread, running, processed, age) and backend. */
  info(): Promise<JsonObject>;
  /** A new run of a FAILURE or REVOKED task (src/producer/operations.ts); null when a lock held it back. */
  retryTask(id: string): Promise<string | null>;
  /** Deletes ended tasks older than `olderThan` seconds (of these statuses); resolves to how many. */
  purgeTasks(olderThan: number, statuses?: TaskStatus[]): Promise<number>;
  /** Epoch seconds of each periodic job's last run. */
  lastRuns(): Promise<JsonObject>;
  /** A page of tasks, newest queued first, and the next page's cursor (null at the end). */
  listTasks(request: TaskListRequest): Promise<TaskList>;
}

/** What the arbiter gives a service application when it starts it. */
export interface AppContext {
  /** The QueueApi of a TaskQueue in the same arbiter; throws ImproperlyConfigured if unknown. */
  queue(name: string): QueueApi;
  /** Names of the TaskQueues in the arbiter. */
  queueNames(): string[];
  /** The arbiter's info and every application's (RPC `server_info`). */
  serverInfo(): Promise<JsonObject>;
  logger: Logger;
}

/** An application that is not a TaskQueue: started and stopped by its own monitor actor. */
export interface ServiceApp {
  readonly name: string;
  /** Marks service apps apart from TaskQueues. */
  readonly kind: 'service';
  start(context: AppContext): Promise<void>;
  stop(): Promise<void>;
  info(): Json;
}
