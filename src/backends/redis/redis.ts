/**
 * RedisStore: the TaskStore of redis:// (and rediss://), shared by every process and machine of an
 * application. Each store method is one Lua script (atomic, one round trip) on Redis's clock,
 * except that large queue batches are split into bounded chunks and the starts and finishes of one
 * event-loop turn share one script (redis-deliveries.ts). Key layout in redis-codec.ts,
 * connections and outages in redis-link.ts, listings in redis-list.ts, scripts in lua/.
 */
import { ImproperlyConfigured } from '../../model/errors.js';
import type { Json } from '../../model/json.js';
import { getLogger } from '../../infra/logger.js';
import { FAILURE, REVOKED, SUCCESS, type TaskStatus } from '../../model/states.js';
import {
  DEFAULT_IDEMPOTENCY_WINDOW_MS,
  type Delivery,
  type DeliveryRef,
  type EventListener,
  type Fence,
  type PageRequest,
  type PullRequest,
  type QueueRequestOptions,
  type RecoverRequest,
  type RecoverResult,
  type StoreFilter,
  type TaskEvent,
  type TaskPage,
  type TaskStore,
} from '../../store/contract.js';
import type { WireTask } from '../../model/task.js';
import { RedisKeys } from './redis-codec.js';
import { checkDuration, RedisDeliveries } from './redis-deliveries.js';
import { RedisEvents } from './redis-events.js';
import { parseRedisUrl, RedisLink, type RedisClient } from './redis-link.js';
import { listPage, listRows, readListed, readTasks, type ListedRow } from './redis-list.js';
import { checkQueueable, queueArgs, queueRun } from './redis-queue.js';
import { asArray, scripts } from './redis-scripts.js';

/** Settings of a RedisStore besides its URL. */
export interface RedisStoreOptions {
  /** The application's name: in every key (as a Cluster hash tag) and channel. */
  name: string;
  /**
   * How long a worker's start/finish/retry waits for Redis to come back when this client does not
   * know the lease of that delivery (ms, default 15000). A known delivery waits as long as its lease.
   */
  writeWaitMs?: number;
  /** How long the first connection may take (ms, default 10000). */
  connectTimeoutMs?: number;
  /** Most tasks one queue script stores: larger batches are split (default 100, about 4 ms of Redis). */
  queueChunk?: number;
  /** Most index entries one `list` call examines (default 1000, at least the page's limit). */
  listBudget?: number;
  /** How long an idempotency key is remembered when `queue` does not say (ms, default 24 h). */
  idempotencyWindowMs?: number;
  /** The hash tag's text (default: the name); a shard of a sharded store has its own (redis-shards.ts). */
  tag?: string;
  /** Connections shared with the other shards of a sharded store, which closes them. */
  link?: RedisLink;
}

const READY_CODES: readonly TaskStatus[] = [SUCCESS, FAILURE, REVOKED];

/** Most scans of one flush (RedisStore.flush): each after the first removes keys written meanwhile. */
const FLUSH_PASSES = 5;

/** Tasks, queues, leases, locks and broadcasts of one application in Redis. */
export class RedisStore implements TaskStore {
  readonly name: string;
  /** `?poll_timeout=` of the URL, in seconds. */
  readonly pollTimeout: number;
  readonly keys: RedisKeys;
  readonly link: RedisLink;
  private readonly queueChunk: number;
  private readonly listBudget: number;
  private readonly idempotencyWindowMs: number;
  private readonly events: RedisEvents;
  private readonly deliveries: RedisDeliveries;
  private readonly ownsLink: boolean;

  constructor(url: string | URL, options: RedisStoreOptions) {
    const name = options.name;
    if (typeof name !== 'string' || !name || /[{}]/.test(name)) {
      throw new ImproperlyConfigured(`A Redis store needs an application name without braces, got "${String(name)}"`);
    }
    const settings = parseRedisUrl(url);
    this.name = name;
    this.pollTimeout = settings.pollTimeout;
    this.keys = new RedisKeys(settings.namespace, name, options.tag ?? name);
    this.queueChunk = positiveInteger(options.queueChunk ?? 100, 'queueChunk');
    this.listBudget = positiveInteger(options.listBudget ?? 1000, 'listBudget');
    this.idempotencyWindowMs = positiveInteger(options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS, 'idempotencyWindowMs');
    this.ownsLink = !options.link;
    this.link =
      options.link ??
      new RedisLink(settings, getLogger(`pulsar.${name}.redis`), {
        connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      });
    this.events = new RedisEvents(this.keys, this.link);
    this.deliveries = new RedisDeliveries(this.keys, this.link, positiveInteger(options.writeWaitMs ?? 15_000, 'writeWaitMs'));
  }

  /**
   * Runs a command after the batched writes still pending: a job's own calls (progress, subtasks)
   * and any read must reach Redis after the start that precedes them, as they did unbatched.
   */
  private run<T>(fn: (redis: RedisClient) => Promise<T>, waitMs?: number): Promise<T> {
    this.deliveries.flushWrites();
    return this.link.run(fn, waitMs);
  }

  /** The namespaced channel of an event. */
  channel(event: TaskEvent): string {
    return this.keys.channel(event);
  }

  /** The store's clock (Redis TIME), epoch ms. */
  async now(): Promise<number> {
    const [s, us] = await this.run((r) => r.time());
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }

  // ---- producing and reading ----------------------------------------------------------------

  /**
   * Stores and queues tasks in chunks of at most `queueChunk` tasks per script, so that no script
   * holds Redis for long; the chunks run in order. The whole batch is checked first; then each
   * chunk is sent as soon as it is encoded, so that Redis stores the first chunks while this
   * process encodes the next (sent together, a large batch kept Redis and the workers idle for as
   * long as its encoding took).
   */
  async queue(tasks: WireTask[], options: QueueRequestOptions = {}): Promise<(string | null)[]> {
    if (!tasks.length) return [];
    const keys = options.idempotencyKeys;
    checkQueueable(tasks, keys);
    const window = positiveInteger(options.idempotencyWindowMs ?? this.idempotencyWindowMs, 'idempotencyWindowMs');
    const chunks: Promise<unknown>[] = [];
    for (let from = 0; from < tasks.length; from += this.queueChunk) {
      const slice = tasks.slice(from, from + this.queueChunk);
      const args = queueArgs(this.keys, slice, keys?.slice(from, from + this.queueChunk), window, null, options.freshIds === true);
      chunks.push(this.run(queueRun(this.keys.queue, args)));
      if (tasks.length > this.queueChunk) this.link.sendNow();
    }
    return (await Promise.all(chunks)).flatMap((reply) => asArray(reply).map(idOrNull));
  }

  async get(ids: string[]): Promise<(WireTask | null)[]> {
    return readTasks((fn) => this.run(fn), this.keys, ids);
  }

  async list(filter: StoreFilter, page: PageRequest): Promise<TaskPage> {
    return listPage((fn) => this.run(fn), this.keys, filter, page, this.listBudget);
  }

  /** A page of listing rows with their scores, filter and page checked by the caller (a sharded store merges them). */
  listRows(filter: StoreFilter, page: PageRequest): Promise<{ rows: ListedRow[]; cursor: string | null }> {
    return listRows((fn) => this.run(fn), this.keys, filter, page, this.listBudget);
  }

  /** Tasks by id with their listing scores, null where unknown. */
  readListed(ids: readonly string[]): Promise<({ task: WireTask; score: number } | null)[]> {
    return readListed((fn) => this.run(fn), this.keys, ids);
  }

  async numQueued(): Promise<number> {
    return this.run(async (r) => {
      let total = 0;
      for (const [err, n] of (await r.pipeline().zcard(this.keys.queue).zcard(this.keys.delayed).exec()) ?? []) {
        if (err) throw err;
        total += Number(n);
      }
      return total;
    });
  }

  async revoke(id: string): Promise<boolean> {
    const args = [this.keys.prefix, id, JSON.stringify('revoked')];
    return (await this.run((r) => scripts.revoke.run(r, [this.keys.queue], args))) === 1;
  }

  /**
   * Deletes up to `limit` ready tasks (of `statuses`, default every ready status) that ended more
   * than `olderThanMs` ago on Redis's clock, oldest first (purge.lua: the per-status ended lists, and
   * the ended zsets of older versions). Tasks that became ready before either existed stay.
   */
  async purge(olderThanMs: number, limit: number, statuses: TaskStatus[] = [...READY_CODES]): Promise<number> {
    checkDuration(olderThanMs, 'olderThanMs');
    // The script runs to its end before Redis serves anyone else, hence the caller's bound.
    const max = Number.isFinite(limit) ? Math.floor(limit) : Number.MAX_SAFE_INTEGER;
    if (!(max > 0)) return 0;
    for (const s of statuses) {
      if (!READY_CODES.includes(s)) throw new TypeError(`purge removes ready tasks only (SUCCESS, FAILURE, REVOKED), got status ${String(s)}`);
    }
    if (!statuses.length) return 0;
    const args = [this.keys.prefix, Math.floor(olderThanMs), max, ...new Set(statuses)];
    return Number(await this.run((r) => scripts.purge.run(r, [this.keys.all], args)));
  }

  /**
   * Deletes every key of this application (SCAN on its prefix); other data is never touched. A
   * script that runs while the scan goes on (a monitor's purge writing a ready listing's pending
   * entries into a new bucket, a worker's late write) may write a key the scan already went by:
   * the scan runs again until one finds nothing, at most FLUSH_PASSES times (what an app still
   * queueing stores after that is new).
   */
  async flush(): Promise<void> {
    for (let pass = 0; pass < FLUSH_PASSES; pass++) {
      let found = 0;
      // On a cluster SCAN walks every master; the keys found share one slot, so one UNLINK takes them.
      await this.run((r) =>
        this.link.scan(this.keys.pattern, async (keys) => {
          found += keys.length;
          await r.unlink(...keys);
        }),
      );
      if (!found) return;
    }
  }

  // ---- worker side (redis-deliveries.ts) ----------------------------------------------------

  pull(request: PullRequest): Promise<Delivery[]> {
    return this.deliveries.pull(request);
  }

  /** One pull script run that never blocks (RedisDeliveries.pullStep): for a sharded store. */
  pullStep(request: PullRequest): Promise<[Delivery[], number, number]> {
    return this.deliveries.pullStep(request);
  }

  start(task: WireTask, fence: Fence): Promise<boolean> {
    return this.deliveries.start(task, fence);
  }

  finish(task: WireTask, fence: Fence): Promise<boolean> {
    return this.deliveries.finish(task, fence);
  }

  retry(task: WireTask, fence: Fence): Promise<boolean> {
    return this.deliveries.retry(task, fence);
  }

  renew(worker: string, deliveries: DeliveryRef[], leaseMs: number): Promise<string[]> {
    return this.deliveries.renew(worker, deliveries, leaseMs);
  }

  release(worker: string, deliveries?: DeliveryRef[]): Promise<string[]> {
    return this.deliveries.release(worker, deliveries);
  }

  recover(request: RecoverRequest): Promise<RecoverResult> {
    return this.deliveries.recover(request);
  }

  /**
   * Ends the parked pulls of `worker`, in whatever process they wait; for the next second its
   * pulls take nothing (it is stopping: what the queue gets now is for the other workers).
   */
  async interrupt(worker: string): Promise<void> {
    this.deliveries.flushWrites();
    await this.deliveries.interrupt(worker, 1000);
  }

  // ---- events -----------------------------------------------------------------------------------

  async publish(event: TaskEvent, taskId: string): Promise<void> {
    await this.run((r) => r.publish(this.keys.channel(event), taskId));
  }

  /** Resolves once Redis confirmed the subscription to the channels of the wanted events. */
  subscribe(listener: EventListener): Promise<() => Promise<void>> {
    return this.events.subscribe(listener);
  }

  /** Subscribes only to the channels of `events` (null: every event); resolves once confirmed. */
  wantEvents(events: readonly TaskEvent[] | null): Promise<void> {
    return this.events.wantEvents(events);
  }

  /** Null while a `task_done` broadcast may be missed; else changes whenever one may have been. */
  subscriptionEpoch(): number | null {
    return this.events.subscriptionEpoch();
  }

  async progress(taskId: string, value: Json, fence?: Fence): Promise<boolean> {
    const args = [this.keys.prefix, taskId, JSON.stringify(value), fence?.worker ?? '', fence?.token ?? ''];
    return (await this.run((r) => scripts.progress.run(r, [this.keys.taskKey(taskId)], args))) === 1;
  }

  // ---- scheduling -------------------------------------------------------------------------------

  /**
   * Claims the run and queues its task in one script (queue.lua): no outage can split them. A run
   * more than a minute ahead of the store's clock is not claimed (false): a scheduler whose clock
   * runs ahead waits for the run to be due.
   */
  async claimRun(name: string, previousMs: number | null, ranAtMs: number, task: WireTask): Promise<string | null | false> {
    if (typeof name !== 'string' || !name) throw new TypeError('claimRun needs the name of a periodic job');
    if (!Number.isFinite(ranAtMs) || (previousMs !== null && !Number.isFinite(previousMs))) {
      throw new TypeError(`claimRun needs run times in epoch ms, got ${String(previousMs)} and ${String(ranAtMs)}`);
    }
    const claim = { name, previousMs, ranAtMs };
    checkQueueable([task], undefined);
    const args = queueArgs(this.keys, [task], undefined, this.idempotencyWindowMs, claim);
    const reply = await this.run(queueRun(this.keys.queue, args));
    if (reply === -1) return false;
    return idOrNull(asArray(reply)[0]);
  }

  async lastRuns(): Promise<Record<string, number>> {
    const stored = await this.run((r) => r.hgetall(this.keys.lastRuns));
    return Object.fromEntries(Object.entries(stored).map(([name, ms]) => [name, Number(ms)]));
  }

  /** Quits every connection; a pull blocked in BLPOP resolves empty. */
  async close(): Promise<void> {
    this.deliveries.flushWrites();
    this.events.clear();
    if (this.ownsLink) await this.link.close();
  }
}

/**
 * A RedisStore for `url` (`redis://[:password@]host:port/db?namespace=NS&poll_timeout=S`, or
 * `rediss://`) and application `name`.
 */
export function createRedisStore(url: string | URL, name: string, options: Omit<RedisStoreOptions, 'name'> = {}): RedisStore {
  return new RedisStore(url, { ...options, name });
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) throw new ImproperlyConfigured(`${what} must be a positive integer, got ${String(value)}`);
  return value;
}

function idOrNull(id: unknown): string | null {
  return typeof id === 'string' && id ? id : null;
}
