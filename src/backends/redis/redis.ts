/**
 * RedisStore: the TaskStore of redis:// (and rediss://), shared by every process and machine of an
 * application. Each store method is one Lua script (atomic, one round trip), except that the
 * starts and finishes of one event-loop turn share one (redis-write-batch.ts); key layout in
 * redis-codec.ts, connections and outage handling in redis-link.ts, blocking pulls in
 * redis-pull.ts, scripts in lua/.
 */
import type { Redis } from 'ioredis';
import { ImproperlyConfigured } from '../../model/errors.js';
import type { Json } from '../../model/json.js';
import { getLogger } from '../../infra/logger.js';
import {
  TASK_EVENTS,
  workerLostMessage,
  type EventListener,
  type PullRequest,
  type RecoverRequest,
  type RecoverResult,
  type StoreFilter,
  type TaskEvent,
  type TaskStore,
} from '../../store/contract.js';
import type { WireTask } from '../../model/task.js';
import { decodeTask, encodeTask, RedisKeys, secondsJson, WIRE_KEYS } from './redis-codec.js';
import { isConnectionError, parseRedisUrl, RedisLink } from './redis-link.js';
import { RedisPuller } from './redis-pull.js';
import { scripts } from './redis-scripts.js';
import { WriteBatch } from './redis-write-batch.js';

/** Settings of a RedisStore besides its URL. */
export interface RedisStoreOptions {
  /** The application's name: in every key (as a Cluster hash tag) and channel. */
  name: string;
  /** How long a worker's start/finish/retry waits for Redis to come back (ms, default 15000). */
  writeWaitMs?: number;
  /** How long the first connection may take (ms, default 10000). */
  connectTimeoutMs?: number;
}

/** Stands for the count in the template of the worker-lost message that recover.lua fills in. */
const COUNT_PLACEHOLDER = 987654321;

/** Tasks, queues, leases, locks and broadcasts of one application in Redis. */
export class RedisStore implements TaskStore {
  readonly name: string;
  /** `?poll_timeout=` of the URL, in seconds. */
  readonly pollTimeout: number;
  readonly keys: RedisKeys;
  readonly link: RedisLink;
  private readonly writeWaitMs: number;
  private readonly listeners = new Set<EventListener>();
  private readonly events = new Map<string, TaskEvent>();
  private subscribing: Promise<void> | null = null;
  private readonly puller: RedisPuller;
  /** start and finish calls of one event-loop turn, each run as one script (redis-write-batch.ts). */
  private readonly starts: WriteBatch;
  private readonly finishes: WriteBatch;

  constructor(url: string | URL, options: RedisStoreOptions) {
    const name = options.name;
    if (typeof name !== 'string' || !name || /[{}]/.test(name)) {
      throw new ImproperlyConfigured(`A Redis store needs an application name without braces, got "${String(name)}"`);
    }
    const settings = parseRedisUrl(url);
    this.name = name;
    this.pollTimeout = settings.pollTimeout;
    this.keys = new RedisKeys(settings.namespace, name);
    this.writeWaitMs = options.writeWaitMs ?? 15_000;
    for (const event of TASK_EVENTS) this.events.set(this.keys.channel(event), event);
    this.link = new RedisLink(settings, getLogger(`pulsar.${name}.redis`), {
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    });
    this.puller = new RedisPuller(this.keys, this.link);
    const k = this.keys;
    this.starts = new WriteBatch((args) =>
      this.link.run((r) => scripts.start.run(r, [k.owners], [k.task, k.channel('task_started'), ...args]), this.writeWaitMs),
    );
    this.finishes = new WriteBatch((args) =>
      this.link.run((r) => scripts.finish.run(r, [k.owners, k.inflight, k.locks, k.ended], [k.task, k.channel('task_done'), Date.now(), ...args]), this.writeWaitMs),
    );
  }

  /**
   * Runs a command after the batched writes still pending: a job's own calls (progress, subtasks)
   * and any read must reach Redis after the start that precedes them, as they did unbatched.
   */
  private run<T>(fn: (redis: Redis) => Promise<T>, waitMs?: number): Promise<T> {
    this.flushWrites();
    return this.link.run(fn, waitMs);
  }

  private flushWrites(): void {
    this.starts.flushNow();
    this.finishes.flushNow();
  }

  /** The namespaced channel of an event. */
  channel(event: TaskEvent): string {
    return this.keys.channel(event);
  }

  // ---- producing and reading ----------------------------------------------------------------

  async queue(tasks: WireTask[]): Promise<(string | null)[]> {
    if (!tasks.length) return [];
    const k = this.keys;
    const args: (string | number)[] = [k.task, Date.now(), k.channel('task_queued'), tasks.length];
    for (const t of tasks) {
      args.push(
        t.id,
        t.lock_id ?? '',
        t.eta !== null ? Math.round(t.eta * 1000) : '',
        String(-t.priority || 0),
        Math.round(t.time_queued * 1000),
        WIRE_KEYS.length,
        ...encodeTask(t),
      );
    }
    const reply = await this.run((r) => scripts.queue.run(r, [k.queue, k.delayed, k.locks, k.seq, k.all, k.wakeup], args));
    return asArray(reply).map((id) => (typeof id === 'string' && id ? id : null));
  }

  async get(ids: string[]): Promise<(WireTask | null)[]> {
    if (!ids.length) return [];
    return (await this.read('ids', ids)).map(decodeTask);
  }

  async list(filter: StoreFilter): Promise<WireTask[]> {
    if (filter.ids && !filter.ids.length) return [];
    const found = await this.read('filter', filter.ids ?? [], filter);
    return found.map(decodeTask).filter((t): t is WireTask => t !== null);
  }

  private async read(mode: 'ids' | 'filter', ids: string[], filter: StoreFilter = {}): Promise<unknown[]> {
    const args = [
      this.keys.task,
      mode,
      filter.name !== undefined ? JSON.stringify(filter.name) : '',
      filter.from_task !== undefined ? JSON.stringify(filter.from_task) : '',
      filter.status?.join(',') ?? '',
      ...ids,
    ];
    return asArray(await this.run((r) => scripts.read.run(r, [this.keys.all], args)));
  }

  async numQueued(): Promise<number> {
    const replies = await this.run((r) => r.pipeline().zcard(this.keys.queue).zcard(this.keys.delayed).exec());
    let total = 0;
    for (const [err, n] of replies ?? []) {
      if (err) throw err;
      total += Number(n);
    }
    return total;
  }

  async revoke(id: string, nowMs: number): Promise<boolean> {
    const k = this.keys;
    const args = [id, secondsJson(nowMs), k.channel('task_done'), JSON.stringify('revoked'), nowMs];
    return (await this.run((r) => scripts.revoke.run(r, [k.taskKey(id), k.queue, k.delayed, k.locks, k.ended], args))) === 1;
  }

  /**
   * Deletes up to `limit` ready tasks that ended before `beforeMs`, oldest first (purge.lua). Only
   * tasks that became ready since the ended index was introduced are known to it; older ones stay.
   */
  async purge(beforeMs: number, limit: number): Promise<number> {
    // The script runs to its end before Redis serves anyone else, hence the caller's bound; an
    // infinite one is taken at its word (LIMIT needs an integer).
    const max = Number.isFinite(limit) ? Math.floor(limit) : Number.MAX_SAFE_INTEGER;
    if (!(max > 0) || Number.isNaN(beforeMs)) return 0;
    const before = Number.isFinite(beforeMs) ? String(beforeMs) : beforeMs > 0 ? '+inf' : '-inf';
    const k = this.keys;
    return Number(await this.run((r) => scripts.purge.run(r, [k.ended, k.all, k.locks], [k.task, before, max])));
  }

  /** Deletes every key of this application (SCAN on its prefix); other data is never touched. */
  async flush(): Promise<void> {
    await this.run(async (r) => {
      let cursor = '0';
      do {
        const [next, found] = await r.scan(cursor, 'MATCH', this.keys.pattern, 'COUNT', 1000);
        cursor = next;
        if (found.length) await r.unlink(...found);
      } while (cursor !== '0');
    });
  }

  // ---- worker side ----------------------------------------------------------------------------

  /**
   * Up to `max` tasks for `worker`; when none is ready, blocks (no polling) until one is queued,
   * the next delayed task is due, or `waitMs` has passed.
   */
  pull(request: PullRequest): Promise<WireTask[]> {
    // The starts of the previous pull go first, as unbatched: a worker pulls again at once while
    // it has free slots, and its tasks must not wait behind that pull.
    this.flushWrites();
    return this.puller.pull(request);
  }

  async start(task: WireTask, worker: string): Promise<boolean> {
    // Encoded now: the caller's task may change once this returns. Only changed fields are sent.
    const fields = this.puller.changedFields(task);
    let started = false;
    try {
      started = await this.starts.add([task.id, worker, fields.length, ...fields]);
      return started;
    } finally {
      if (!started) this.puller.release(worker, task.id);
    }
  }

  async finish(task: WireTask, worker: string): Promise<boolean> {
    const fields = this.puller.changedFields(task);
    try {
      return await this.finishes.add([task.id, worker, task.lock_id ?? '', fields.length, ...fields]);
    } finally {
      this.puller.release(worker, task.id);
    }
  }

  async retry(task: WireTask, worker: string): Promise<boolean> {
    const k = this.keys;
    const eta = task.eta !== null ? Math.round(task.eta * 1000) : '';
    const args = [task.id, worker, Date.now(), eta, k.channel('task_queued'), ...encodeTask(task)];
    const keys = [k.taskKey(task.id), k.owners, k.inflight, k.queue, k.delayed, k.seq, k.wakeup];
    try {
      return (await this.run((r) => scripts.retry.run(r, keys, args), this.writeWaitMs)) === 1;
    } finally {
      this.puller.release(worker, task.id);
    }
  }

  async renew(worker: string, ids: string[], leaseMs: number): Promise<void> {
    if (!ids.length) return;
    const args = [worker, Date.now() + leaseMs, ...ids];
    await this.run((r) => scripts.renew.run(r, [this.keys.inflight, this.keys.owners], args));
  }

  async recover(request: RecoverRequest): Promise<RecoverResult> {
    const k = this.keys;
    const args = [
      k.task,
      request.nowMs,
      secondsJson(request.nowMs),
      request.maxRedeliveries,
      request.worker ?? '',
      k.channel('task_queued'),
      k.channel('task_done'),
      JSON.stringify(workerLostMessage(1)),
      JSON.stringify(workerLostMessage(COUNT_PLACEHOLDER)),
    ];
    const keys = [k.inflight, k.owners, k.locks, k.queue, k.seq, k.wakeup, k.ended];
    if (request.worker) this.puller.forget(request.worker);
    const [requeued, failed] = asArray(await this.run((r) => scripts.recover.run(r, keys, args)));
    return { requeued: asArray(requeued).map(String), failed: asArray(failed).map(String) };
  }

  // ---- events -----------------------------------------------------------------------------------

  async publish(event: TaskEvent, taskId: string): Promise<void> {
    await this.run((r) => r.publish(this.keys.channel(event), taskId));
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

  private async startSubscriber(): Promise<void> {
    const sub = this.link.subscriber;
    if (!sub.listenerCount('message')) {
      sub.on('message', (channel: string, id: string) => {
        const event = this.events.get(channel);
        if (!event) return;
        for (const listener of this.listeners) {
          try {
            listener(event, id);
          } catch {
            // one listener's fault must not keep the event from the others
          }
        }
      });
    }
    await this.link.ready(sub);
    await sub.subscribe(...this.events.keys());
  }

  async progress(taskId: string, value: Json): Promise<void> {
    const args = [taskId, JSON.stringify(value), this.keys.channel('task_progress')];
    await this.run((r) => scripts.progress.run(r, [this.keys.taskKey(taskId)], args));
  }

  // ---- scheduling -------------------------------------------------------------------------------

  async claimRun(name: string, previousMs: number | null, ranAtMs: number): Promise<boolean> {
    const args = [name, previousMs === null ? '' : String(previousMs), String(ranAtMs)];
    return (await this.run((r) => scripts.claimRun.run(r, [this.keys.lastRuns], args))) === 1;
  }

  async lastRuns(): Promise<Record<string, number>> {
    const stored = await this.run((r) => r.hgetall(this.keys.lastRuns));
    return Object.fromEntries(Object.entries(stored).map(([name, ms]) => [name, Number(ms)]));
  }

  /** Quits every connection; a pull blocked in BLPOP resolves empty. */
  async close(): Promise<void> {
    this.flushWrites();
    this.listeners.clear();
    await this.link.close();
  }
}

/**
 * A RedisStore for `url` (`redis://[:password@]host:port/db?namespace=NS&poll_timeout=S`, or
 * `rediss://`) and application `name`.
 */
export function createRedisStore(url: string | URL, name: string): RedisStore {
  return new RedisStore(url, { name });
}

function asArray(reply: unknown): unknown[] {
  return Array.isArray(reply) ? reply : [];
}
