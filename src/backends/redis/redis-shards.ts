/**
 * ShardedRedisStore: the TaskStore of every redis URL (`redis://`, `rediss://`, `redis+cluster://`,
 * `rediss+cluster://`). With `?shards=K` (or the `shards` option), K > 1, one queue is spread over
 * K hash tags `{name:0}` … `{name:K-1}` (each moved to the middle of its K-th of the slots, see
 * shardTag), which a Redis Cluster places on different nodes, evenly when its masters hold equal
 * slot ranges and their number divides K; each
 * shard is a RedisStore of its own tag (every script runs on one shard, unchanged), sharing one set
 * of connections. With one shard (the default) it is exactly one RedisStore: today's layout.
 *
 * Where a task lives: redis-shard-route.ts. Pulls over every shard: redis-shard-pull.ts. Merged
 * listings: redis-shard-list.ts. The stored number of shards: redis-shard-layout.ts. Periodic runs
 * are claimed on the first shard (exactly once across schedulers), their task queued on its own
 * shard through a journal of pending claims: redis-shard-claim.ts.
 *
 * What shards cost: priority and FIFO order hold within a shard only; listings merge K pages;
 * counts, recovery and purges visit every shard.
 */
import { getLogger } from '../../infra/logger.js';
import { ImproperlyConfigured } from '../../model/errors.js';
import type { Json } from '../../model/json.js';
import type { TaskStatus } from '../../model/states.js';
import type { WireTask } from '../../model/task.js';
import type {
  Delivery,
  DeliveryRef,
  EventListener,
  Fence,
  PageRequest,
  PullRequest,
  QueueRequestOptions,
  RecoverRequest,
  RecoverResult,
  StoreFilter,
  TaskEvent,
  TaskPage,
  TaskStore,
} from '../../store/contract.js';
import { checkPull } from './redis-deliveries.js';
import { checkQueueable } from './redis-queue.js';
import { RedisEvents } from './redis-events.js';
import { MAX_SHARDS, parseRedisUrl, RedisLink } from './redis-link.js';
import { RedisStore, type RedisStoreOptions } from './redis.js';
import { ensureLayout, layoutKey } from './redis-shard-layout.js';
import { listShards } from './redis-shard-list.js';
import { ShardedPuller } from './redis-shard-pull.js';
import { ShardClaims } from './redis-shard-claim.js';
import { byShard, place, shardOf, shardTag } from './redis-shard-route.js';

/** Settings of a ShardedRedisStore besides its URL. */
export interface ShardedRedisStoreOptions extends Omit<RedisStoreOptions, 'tag' | 'link'> {
  /** Hash tags the queue is spread over (default: the URL's `?shards=`, else 1). */
  shards?: number;
}

/** One queue over K shards (K ≥ 1), each a RedisStore of its own hash tag. */
export class ShardedRedisStore implements TaskStore {
  readonly name: string;
  readonly pollTimeout: number;
  readonly shards: readonly RedisStore[];
  readonly link: RedisLink;
  private readonly k: number;
  private readonly namespace: string;
  private readonly events: RedisEvents | null;
  private readonly puller: ShardedPuller | null;
  private readonly claims: ShardClaims;
  private layoutChecked: Promise<void> | null = null;
  /**
   * The one shard, once the layout is checked, when no replica wait applies: queue, get and pull go
   * straight to it (no async frame of their own on a one-task round trip).
   */
  private direct: RedisStore | null = null;
  private readonly waitReplicas: number;
  private readonly waitTimeoutMs: number;

  constructor(url: string | URL, options: ShardedRedisStoreOptions) {
    const settings = parseRedisUrl(url);
    const k = options.shards ?? settings.shards;
    if (!Number.isInteger(k) || k < 1 || k > MAX_SHARDS) {
      throw new ImproperlyConfigured(`shards must be an integer from 1 to ${MAX_SHARDS}, got ${String(k)}`);
    }
    const { shards: _k, ...storeOptions } = options;
    this.k = k;
    this.name = options.name;
    this.namespace = settings.namespace;
    this.pollTimeout = settings.pollTimeout;
    this.waitReplicas = settings.waitReplicas;
    this.waitTimeoutMs = settings.waitTimeoutMs;
    if (k === 1) {
      const only = new RedisStore(url, storeOptions);
      this.shards = [only];
      this.link = only.link;
      this.events = null;
      this.puller = null;
    } else {
      if (typeof options.name !== 'string' || !options.name || /[{}]/.test(options.name)) {
        throw new ImproperlyConfigured(`A Redis store needs an application name without braces, got "${String(options.name)}"`);
      }
      const link = new RedisLink(settings, getLogger(`pulsar.${options.name}.redis`), { connectTimeoutMs: options.connectTimeoutMs ?? 10_000 });
      this.link = link;
      this.shards = Array.from({ length: k }, (_, i) => new RedisStore(url, { ...storeOptions, tag: shardTag(options.name, i, k), link }));
      this.events = new RedisEvents(this.shards.map((s) => s.keys), link);
      this.puller = new ShardedPuller(this.shards, link);
    }
    this.claims = new ShardClaims(this.link, k, this.shards[0] as RedisStore, (id) => this.at(id), (shard, value) => this.replicated(shard, value));
  }

  /** Resolves once the stored number of shards is this store's (checked once; again after a failure). */
  private layout(): Promise<void> {
    this.layoutChecked ??= ensureLayout(this.link, this.namespace, this.name, this.k).then(
      () => {
        if (this.k === 1 && !this.waitReplicas) this.direct = this.shards[0] as RedisStore;
      },
      (err: unknown) => {
        this.layoutChecked = null;
        throw err;
      },
    );
    return this.layoutChecked;
  }

  /**
   * With `?wait_replicas=N`: resolves once N replicas of `shard`'s node have every write made so
   * far on its connection (WAIT, sent in one pipeline with a read of the shard's key so that a
   * cluster routes it to that node), or the wait timed out (logged: the write is on the master only).
   */
  private async replicated<T>(shard: RedisStore, value: T): Promise<T> {
    if (!this.waitReplicas) return value;
    const replies = await this.link.run((r) => r.pipeline().exists(shard.keys.queue).call('WAIT', this.waitReplicas, this.waitTimeoutMs).exec());
    const [err, acked] = replies?.[1] ?? [null, 0];
    if (err) throw err;
    if (Number(acked) < this.waitReplicas) {
      this.link.warnOncePerOutage(
        'wait',
        `writes on ${this.link.settings.display} reached ${String(acked)} of ${this.waitReplicas} replicas within ${this.waitTimeoutMs} ms: ` +
          'they are acknowledged by the master only, and a failover now may lose them',
      );
    }
    return value;
  }

  /** The shard of a task id. */
  private at(id: string): RedisStore {
    return this.shards[typeof id === 'string' ? shardOf(id, this.k) : 0] as RedisStore;
  }

  async now(): Promise<number> {
    return this.shards[0]!.now();
  }

  queue(tasks: WireTask[], options: QueueRequestOptions = {}): Promise<(string | null)[]> {
    return this.direct ? this.direct.queue(tasks, options) : this.queueOnShards(tasks, options);
  }

  private async queueOnShards(tasks: WireTask[], options: QueueRequestOptions): Promise<(string | null)[]> {
    await this.layout();
    if (this.k === 1) return this.replicated(this.shards[0]!, await this.shards[0]!.queue(tasks, options));
    const keys = options.idempotencyKeys;
    // Every shard's part checked before any is sent: a bad item stores nothing on any shard.
    checkQueueable(tasks, keys);
    const placed = tasks.map((task, i) => place(task, keys?.[i], this.k));
    const out: (string | null)[] = new Array<string | null>(tasks.length).fill(null);
    const groups = [...byShard(placed, (p) => p.shard)];
    await Promise.all(
      groups.map(async ([shard, group]) => {
        const groupKeys = keys ? group.map((g) => keys[g.index] ?? null) : undefined;
        const ids = await this.shards[shard]!.queue(
          group.map((g) => g.item.task),
          groupKeys ? { ...options, idempotencyKeys: groupKeys } : options,
        );
        group.forEach((g, j) => (out[g.index] = ids[j] ?? null));
        await this.replicated(this.shards[shard]!, null);
      }),
    );
    return out;
  }

  get(ids: string[]): Promise<(WireTask | null)[]> {
    return this.direct ? this.direct.get(ids) : this.getOnShards(ids);
  }

  private async getOnShards(ids: string[]): Promise<(WireTask | null)[]> {
    await this.layout();
    if (this.k === 1) return this.shards[0]!.get(ids);
    const out: (WireTask | null)[] = new Array<WireTask | null>(ids.length).fill(null);
    await Promise.all(
      [...byShard(ids, (id) => shardOf(String(id), this.k))].map(async ([shard, group]) => {
        const found = await this.shards[shard]!.get(group.map((g) => g.item));
        group.forEach((g, j) => (out[g.index] = found[j] ?? null));
      }),
    );
    return out;
  }

  async list(filter: StoreFilter, page: PageRequest): Promise<TaskPage> {
    await this.layout();
    return this.k === 1 ? this.shards[0]!.list(filter, page) : listShards(this.shards, filter, page);
  }

  async numQueued(): Promise<number> {
    await this.layout();
    return (await Promise.all(this.shards.map((s) => s.numQueued()))).reduce((a, b) => a + b, 0);
  }

  async revoke(id: string): Promise<boolean> {
    await this.layout();
    return this.replicated(this.at(id), await this.at(id).revoke(id));
  }

  /** Per shard, oldest first within each, until `limit` tasks are deleted. */
  async purge(olderThanMs: number, limit: number, statuses?: TaskStatus[]): Promise<number> {
    await this.layout();
    let left = Number.isFinite(limit) ? Math.floor(limit) : Number.MAX_SAFE_INTEGER;
    let total = 0;
    for (const shard of this.shards) {
      if (left <= 0) break;
      const n = await shard.purge(olderThanMs, left, statuses);
      total += n;
      left -= n;
    }
    return total;
  }

  /** Deletes every key of every shard and the stored number of shards. */
  async flush(): Promise<void> {
    for (const shard of this.shards) await shard.flush();
    await this.link.run((r) => r.del(layoutKey(this.namespace, this.name)));
    this.layoutChecked = null;
    this.direct = null;
  }

  // ---- worker side ------------------------------------------------------------------------

  pull(request: PullRequest): Promise<Delivery[]> {
    return this.direct ? this.direct.pull(request) : this.pullOnShards(request);
  }

  private async pullOnShards(request: PullRequest): Promise<Delivery[]> {
    checkPull(request);
    await this.layout();
    return this.puller ? this.puller.pull(request) : this.shards[0]!.pull(request);
  }

  start(task: WireTask, fence: Fence): Promise<boolean> {
    return this.at(task?.id).start(task, fence);
  }

  // Worker writes do not wait for replicas: one lost in a failover leaves its task in flight on
  // the promoted replica, and the lease runs it again (at least once), nothing is lost. A WAIT
  // would also hold the node's connection, every pull and write behind it, for up to its timeout.
  finish(task: WireTask, fence: Fence): Promise<boolean> {
    return this.at(task?.id).finish(task, fence);
  }

  retry(task: WireTask, fence: Fence): Promise<boolean> {
    return this.at(task?.id).retry(task, fence);
  }

  async renew(worker: string, deliveries: DeliveryRef[], leaseMs: number): Promise<string[]> {
    if (this.k === 1) return this.shards[0]!.renew(worker, deliveries, leaseMs);
    const groups = [...byShard(deliveries, (d) => shardOf(String(d.id), this.k))];
    const lost = await Promise.all(groups.map(([shard, group]) => this.shards[shard]!.renew(worker, group.map((g) => g.item), leaseMs)));
    return lost.flat();
  }

  async release(worker: string, deliveries?: DeliveryRef[]): Promise<string[]> {
    if (this.k === 1) return this.shards[0]!.release(worker, deliveries);
    this.puller?.interrupt(worker);
    if (!deliveries) {
      this.puller?.forget(worker);
      return (await Promise.all(this.shards.map((s) => s.release(worker)))).flat();
    }
    const groups = [...byShard(deliveries, (d) => shardOf(String(d.id), this.k))];
    return (await Promise.all(groups.map(([shard, group]) => this.shards[shard]!.release(worker, group.map((g) => g.item))))).flat();
  }

  async recover(request: RecoverRequest): Promise<RecoverResult> {
    if (this.k === 1) return this.shards[0]!.recover(request);
    const results = await Promise.all(this.shards.map((s) => s.recover(request)));
    return {
      requeued: results.flatMap((r) => r.requeued),
      failed: results.flatMap((r) => r.failed),
      returned: results.flatMap((r) => r.returned),
    };
  }

  async interrupt(worker: string): Promise<void> {
    this.puller?.interrupt(worker);
    await Promise.all(this.shards.map((s) => s.interrupt(worker)));
  }

  // ---- events -----------------------------------------------------------------------------------

  publish(event: TaskEvent, taskId: string): Promise<void> {
    return this.at(taskId).publish(event, taskId);
  }

  subscribe(listener: EventListener): Promise<() => Promise<void>> {
    return this.events ? this.events.subscribe(listener) : this.shards[0]!.subscribe(listener);
  }

  /** Subscribes only to the channels of `events` (null: every event); resolves once confirmed. */
  wantEvents(events: readonly TaskEvent[] | null): Promise<void> {
    return this.events ? this.events.wantEvents(events) : this.shards[0]!.wantEvents(events);
  }

  /** Null while a `task_done` broadcast may be missed; else changes whenever one may have been. */
  subscriptionEpoch(): number | null {
    return this.events ? this.events.subscriptionEpoch() : this.shards[0]!.subscriptionEpoch();
  }

  progress(taskId: string, value: Json, fence?: Fence): Promise<boolean> {
    return this.at(taskId).progress(taskId, value, fence);
  }

  // ---- scheduling -------------------------------------------------------------------------------

  /**
   * One shard: the run is claimed and its task queued in one script. More: see redis-shard-claim.ts.
   */
  async claimRun(name: string, previousMs: number | null, ranAtMs: number, task: WireTask): Promise<string | null | false> {
    await this.layout();
    if (this.k === 1) return this.replicated(this.shards[0]!, await this.shards[0]!.claimRun(name, previousMs, ranAtMs, task));
    return this.claims.claim(name, previousMs, ranAtMs, task);
  }

  async lastRuns(): Promise<Record<string, number>> {
    await this.layout();
    return this.shards[0]!.lastRuns();
  }

  async close(): Promise<void> {
    this.events?.clear();
    await Promise.all(this.shards.map((s) => s.close()));
    await this.link.close();
  }
}
