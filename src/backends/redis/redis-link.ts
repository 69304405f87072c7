/**
 * The connections of one redis:// store (one Redis, or a Redis Cluster client) and how they
 * behave when Redis goes away. URLs: redis-url.ts.
 *
 * Three connections, because each blocks in its own way: commands (Lua scripts, reads), a blocking
 * one for pulls waiting on BLPOP (which also carries a finish made just before its wait: `run`'s
 * `on`), and a subscriber for pub/sub. ioredis reconnects all of them.
 * While the command connection is down, commands fail at once with BackendUnavailable instead of
 * sitting in ioredis's offline queue (a producer must not hang); worker writes may wait a bounded
 * time for the reconnection so that a finished task's result is not dropped over a short outage.
 * An outage is logged once when it starts and once when it ends.
 */
import { performance } from 'node:perf_hooks';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { BackendUnavailable } from '../../model/errors.js';
import { reportHealth } from '../../infra/health-events.js';
import type { Logger } from '../../infra/logger.js';
import { connectMastersEagerly, ioredis, newCluster } from './redis-cluster.js';
import { TurnCork } from './redis-cork.js';
import type { RedisUrlSettings } from './redis-url.js';

export { DEFAULT_NAMESPACE, MAX_SHARDS, parseRedisUrl, type RedisUrlSettings } from './redis-url.js';

/** A connection of the store: one Redis, or a Redis Cluster client (redis+cluster://). */
export type RedisClient = Redis | Cluster;

/** Settings of a RedisLink besides the URL's. */
export interface LinkOptions {
  /** How long the first connection may take before commands fail (ms). */
  connectTimeoutMs: number;
}

// The last line: what a cluster answers while a failover is under way.
const CONNECTION_ERROR = new RegExp(
  [
    "Connection is closed|Stream isn't writeable|max retries per request|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|LOADING",
    'CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|Failed to refresh slots cache|None of startup nodes is available|Cluster is disconnected',
  ].join('|'),
  'i',
);

/** True for an error that says the connection (not the command) failed. */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof BackendUnavailable) return true;
  if (!(err instanceof Error)) return false;
  return err.name === 'MaxRetriesPerRequestError' || CONNECTION_ERROR.test(err.message);
}

/** One caller waiting for a connection to be ready. */
interface ReadyWaiter {
  /** Waiting for the first connection: the first error ends the wait. */
  first: boolean;
  done: (ready: boolean) => void;
}

/** The three connections of a store, their readiness and their outage logging. */
export class RedisLink {
  /** Commands and Lua scripts (a Cluster client routes each by its first key's slot). */
  readonly cmd: RedisClient;
  private blockingConn: RedisClient | null = null;
  /** Blocking connections of the shards of a sharded store, by shard (blockingFor). */
  private readonly shardBlocking = new Map<number, RedisClient>();
  private subscriberConn: RedisClient | null = null;
  /** Connections that were ready once: a first connection may take its connect timeout. */
  private readonly seenReady = new WeakSet<RedisClient>();
  private down = false;
  /** Callers waiting for each connection to be ready (nextReady). */
  private readonly readyWaiters = new Map<RedisClient, Set<ReadyWaiter>>();
  /** What was already logged during the current outage (warnOncePerOutage). */
  private readonly warnedThisOutage = new Set<string>();
  private lastError = '';
  /** The command connection's writes are held until the end of each tick that sends one. */
  private readonly cork = new TurnCork(() => this.cmd);
  private closed = false;

  constructor(
    readonly settings: RedisUrlSettings,
    private readonly log: Logger,
    private readonly options: LinkOptions,
  ) {
    const common: RedisOptions = {
      // A command whose reply was lost fails here; callers that may retry do so themselves,
      // with scripts written to be safe to run twice.
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      connectTimeout: options.connectTimeoutMs,
      retryStrategy: (times) => Math.min(50 * times, 1000),
      keepAlive: 10_000,
      connectionName: 'pulsar-tasks',
    };
    this.cmd = settings.cluster
      ? // Node connections of a cluster connect on their first command: their offline queue
        // stays on, and commands still fail at once when a node is down (maxRetriesPerRequest 0).
        newCluster(settings.cluster, { ...settings.options, ...common }, { enableOfflineQueue: false })
      : new (ioredis().Redis)({ ...settings.options, ...common, enableOfflineQueue: false });
    if (!(this.cmd instanceof ioredis().Redis)) connectMastersEagerly(this.cmd);
    this.watchReady(this.cmd);
    this.cmd.on('ready', () => {
      this.warnedThisOutage.clear();
      if (this.down) {
        this.down = false;
        reportHealth('redis_up');
        this.log.info(`Redis ${settings.display} is back`);
      }
    });
    this.cmd.on('error', (err: Error) => {
      this.lastError = err.message;
      reportHealth('redis_error');
    });
    // A cluster reports the errors of its nodes apart.
    this.cmd.on('node error', (err: Error) => {
      this.lastError = err.message;
    });
    this.cmd.on('close', () => {
      if (this.closed || !this.seenReady.has(this.cmd) || this.down) return;
      this.down = true;
      reportHealth('redis_down');
      this.log.error(
        `lost the connection to Redis ${settings.display}${this.lastError ? ` (${this.lastError})` : ''}; reconnecting, commands fail meanwhile`,
      );
    });
  }

  private watchReady(conn: RedisClient): void {
    conn.on('ready', () => this.seenReady.add(conn));
  }

  /** True on a Redis Cluster. */
  get isCluster(): boolean {
    return this.settings.cluster !== null;
  }

  /** The connection pulls block on (made on first use). */
  get blocking(): RedisClient {
    this.blockingConn ??= this.duplicate('pulsar-tasks-pull');
    return this.blockingConn;
  }

  /**
   * The blocking connection of shard `index` of a sharded store (made on first use): a pull
   * waits on every shard at once, and a BLPOP holds its connection.
   */
  blockingFor(index: number): RedisClient {
    let conn = this.shardBlocking.get(index);
    // It reaches its shard's node only: that node connects on its first wait (not every master).
    if (!conn) this.shardBlocking.set(index, (conn = this.duplicate(`pulsar-tasks-pull-${index}`, false, false)));
    return conn;
  }

  /** The subscriber connection (made on first use; ioredis subscribes again after a reconnection). */
  get subscriber(): RedisClient {
    // Cluster pub/sub goes through a connection of its own, not the nodes' command connections.
    this.subscriberConn ??= this.duplicate('pulsar-tasks-sub', true, false);
    return this.subscriberConn;
  }

  /** `eager`: a cluster's masters connect at once (connectMastersEagerly), not on first use. */
  private duplicate(connectionName: string, offlineQueue = false, eager = true): RedisClient {
    const maxRetriesPerRequest = offlineQueue ? null : 0;
    let conn: RedisClient;
    if (this.cmd instanceof ioredis().Redis) {
      conn = this.cmd.duplicate({ connectionName, enableOfflineQueue: offlineQueue, maxRetriesPerRequest });
    } else {
      const redisOptions = { ...this.cmd.options.redisOptions, connectionName, maxRetriesPerRequest };
      conn = this.cmd.duplicate(undefined, { enableOfflineQueue: offlineQueue, redisOptions });
      conn.on('node error', () => undefined);
      if (eager) connectMastersEagerly(conn);
    }
    // Its outages are the command connection's too, and logged there.
    conn.on('error', () => undefined);
    this.watchReady(conn);
    return conn;
  }

  /**
   * Every key matching `pattern` (SCAN), handed to `each` a batch at a time; on a cluster, the
   * keys of every master.
   */
  async scan(pattern: string, each: (keys: string[]) => Promise<void>): Promise<void> {
    const nodes = this.cmd instanceof ioredis().Redis ? [this.cmd] : this.cmd.nodes('master');
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (found.length) await each(found);
      } while (cursor !== '0');
    }
  }

  /** Throws BackendUnavailable once this link is closed. */
  checkOpen(): void {
    if (this.closed) throw new BackendUnavailable(`Redis store ${this.settings.display} is closed`);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Resolves once `conn` is ready. Before the first connection it waits up to the connect timeout
   * but gives up at the first failure; afterwards it waits at most `waitMs`.
   */
  async ready(conn: RedisClient = this.cmd, waitMs = 0): Promise<void> {
    this.checkOpen();
    if (conn.status === 'ready') return;
    const first = !this.seenReady.has(conn);
    const ms = first ? this.options.connectTimeoutMs : waitMs;
    const ok = ms > 0 && (await this.nextReady(conn, ms, first));
    this.checkOpen();
    // Narrowed by the early return above, though the await may have changed it.
    if (!ok || (conn.status as string) !== 'ready') throw this.unavailable();
  }

  /**
   * Resolves true when `conn` becomes ready within `ms`, false when it ends first (or, `first`,
   * at its first error). Every waiter of a connection shares one set of listeners: a batch of
   * hundreds of commands waiting for the first connection adds three listeners, not hundreds.
   */
  private nextReady(conn: RedisClient, ms: number, first: boolean): Promise<boolean> {
    let waiters = this.readyWaiters.get(conn);
    if (!waiters) {
      const all = new Set<ReadyWaiter>();
      waiters = all;
      this.readyWaiters.set(conn, all);
      const settle = (event: 'ready' | 'end' | 'error') => {
        for (const waiter of [...all]) if (event !== 'error' || waiter.first) waiter.done(event === 'ready');
        if (!all.size) {
          conn.off('ready', onReady);
          conn.off('end', onEnd);
          conn.off('error', onError);
          this.readyWaiters.delete(conn);
        }
      };
      const onReady = () => settle('ready');
      const onEnd = () => settle('end');
      const onError = () => settle('error');
      conn.on('ready', onReady);
      conn.on('end', onEnd);
      conn.on('error', onError);
    }
    const set = waiters;
    return new Promise<boolean>((resolve) => {
      const waiter: ReadyWaiter = {
        first,
        done: (value) => {
          clearTimeout(timer);
          set.delete(waiter);
          resolve(value);
        },
      };
      const timer = setTimeout(() => waiter.done(false), ms);
      set.add(waiter);
    });
  }

  /** Logs `message` at WARN once per outage for `topic` (again only after Redis was back). */
  warnOncePerOutage(topic: string, message: string): void {
    if (this.closed || this.warnedThisOutage.has(topic)) return;
    this.warnedThisOutage.add(topic);
    this.log.warn(message);
  }

  /** The error of a command that could not reach Redis. */
  unavailable(cause?: unknown): BackendUnavailable {
    // ioredis's own wording ("max retries per request", "Stream isn't writeable") names its
    // options, not the problem: the last socket error says more.
    const own = cause instanceof Error && !/max retries per request|Stream isn't writeable/i.test(cause.message);
    const why = own ? (cause as Error).message : this.lastError || 'connection lost';
    return new BackendUnavailable(`Redis ${this.settings.display} is unavailable${why ? `: ${why}` : ''}`, { cause });
  }

  /**
   * Runs `fn` on the command connection. With `waitMs` (worker writes), a connection failure is
   * retried after the reconnection until `waitMs` has passed; without, it fails at once. `on`:
   * another connection, ready, that takes the first try (a finish carried by a blocking wait).
   */
  run<T>(fn: (redis: RedisClient) => Promise<T>, waitMs = 0, on: RedisClient = this.cmd): Promise<T> {
    // The process's monotonic clock: a wait is a duration, whatever the wall clock does.
    const deadline = performance.now() + waitMs;
    // The common case, the connection ready: the command leaves now, no async frame around it.
    if (!this.closed && on.status === 'ready') {
      if (on === this.cmd) this.cork.hold();
      let sent: Promise<T>;
      try {
        sent = fn(on);
      } catch (err) {
        sent = Promise.reject(err);
      }
      return sent.catch((err: unknown) => this.failed(fn, err, deadline));
    }
    return this.retrying(fn, deadline);
  }

  /** Sends the writes this tick's cork holds on the command connection now (TurnCork.sendNow). */
  sendNow(): void {
    this.cork.sendNow();
  }

  /** A command of `run` failed: a connection failure is tried again until `deadline`. */
  private async failed<T>(fn: (redis: RedisClient) => Promise<T>, err: unknown, deadline: number): Promise<T> {
    if (!isConnectionError(err)) throw err;
    if (this.closed || performance.now() >= deadline) throw err instanceof BackendUnavailable ? err : this.unavailable(err);
    await new Promise((resolve) => setTimeout(resolve, 50));
    return this.retrying(fn, deadline);
  }

  /** `run` once the connection is ready, within `deadline` (performance.now()). */
  private async retrying<T>(fn: (redis: RedisClient) => Promise<T>, deadline: number): Promise<T> {
    for (;;) {
      await this.ready(this.cmd, Math.max(0, deadline - performance.now()));
      try {
        return await fn(this.cmd);
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        if (this.closed || performance.now() >= deadline) throw err instanceof BackendUnavailable ? err : this.unavailable(err);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /** Closes every connection; a pull blocked on BLPOP is cut rather than awaited. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const conns = [this.cmd, this.subscriberConn].filter((c): c is RedisClient => c !== null);
    this.blockingConn?.disconnect();
    for (const conn of this.shardBlocking.values()) conn.disconnect();
    await Promise.all(
      conns.map(async (conn) => {
        if (conn.status === 'ready') {
          try {
            await conn.quit();
            return;
          } catch {
            // fall through to a hard disconnect
          }
        }
        conn.disconnect();
      }),
    );
  }
}
