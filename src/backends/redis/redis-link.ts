/**
 * The connections of one redis:// store and how they behave when Redis goes away.
 *
 * Three connections, because each blocks in its own way: commands (Lua scripts, reads), a blocking
 * one for pulls waiting on BLPOP, and a subscriber for pub/sub. ioredis reconnects all of them.
 * While the command connection is down, commands fail at once with BackendUnavailable instead of
 * sitting in ioredis's offline queue (a producer must not hang); worker writes may wait a bounded
 * time for the reconnection so that a finished task's result is not dropped over a short outage.
 * An outage is logged once when it starts and once when it ends.
 */
import { performance } from 'node:perf_hooks';
import { redactUrl } from '../../infra/secrets.js';
import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import { BackendUnavailable, ImproperlyConfigured } from '../../model/errors.js';
import { reportHealth } from '../../infra/health-events.js';
import type { Logger } from '../../infra/logger.js';

/**
 * ioredis, loaded by the first connection: importing pulsar-tasks (every job module does, in
 * every worker child, local:// ones included) must not cost its ~24 MiB of RSS.
 */
let ioredis: typeof import('ioredis') | null = null;
function RedisClass(): typeof Redis {
  ioredis ??= createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
  return ioredis.Redis;
}

/** What a redis:// or rediss:// URL says. */
export interface RedisUrlSettings {
  /** ioredis connection options (host, port, password, db, tls). */
  options: RedisOptions;
  /** First part of every key and channel (`?namespace=`, default `pulsar-tasks`). */
  namespace: string;
  /** `?poll_timeout=` in seconds, default 2. */
  pollTimeout: number;
  /** The URL without its password, for messages. */
  display: string;
}

/** The namespace of keys when the URL gives none. */
export const DEFAULT_NAMESPACE = 'pulsar-tasks';

/** Parses `redis://[[user]:password@]host:port/db?namespace=NS&poll_timeout=S` (or `rediss://`). */
export function parseRedisUrl(raw: string | URL): RedisUrlSettings {
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw new ImproperlyConfigured(`Invalid Redis URL "${redactUrl(String(raw))}": expected redis://host:port/db`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ImproperlyConfigured(`Not a Redis URL: "${url.protocol}//" (expected redis:// or rediss://)`);
  }
  const dbText = url.pathname.replace(/^\/+/, '') || '0';
  const db = Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new ImproperlyConfigured(`Redis database must be an integer ≥ 0, got "${dbText}"`);
  const port = url.port ? Number(url.port) : 6379;
  const namespace = url.searchParams.get('namespace') ?? DEFAULT_NAMESPACE;
  if (!namespace || /[{}]/.test(namespace)) {
    throw new ImproperlyConfigured(`Redis namespace must be non-empty and without braces, got "${namespace}"`);
  }
  const pt = url.searchParams.get('poll_timeout');
  const pollTimeout = pt === null ? 2 : Number(pt);
  if (!Number.isFinite(pollTimeout) || pollTimeout <= 0) {
    throw new ImproperlyConfigured(`poll_timeout must be a positive number of seconds, got "${pt}"`);
  }
  // IPv6 hosts come bracketed from URL; net.connect wants them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const options: RedisOptions = { host, port, db };
  if (url.password) options.password = decodeURIComponent(url.password);
  if (url.username) options.username = decodeURIComponent(url.username);
  if (url.protocol === 'rediss:') options.tls = { servername: host };
  return { options, namespace, pollTimeout, display: `${url.protocol}//${url.host}/${db}` };
}

/** Settings of a RedisLink besides the URL's. */
export interface LinkOptions {
  /** How long the first connection may take before commands fail (ms). */
  connectTimeoutMs: number;
}

const CONNECTION_ERROR =
  /Connection is closed|Stream isn't writeable|max retries per request|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|LOADING/i;

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
  /** Commands and Lua scripts. */
  readonly cmd: Redis;
  private blockingConn: Redis | null = null;
  private subscriberConn: Redis | null = null;
  /** Connections that were ready once: a first connection may take its connect timeout. */
  private readonly seenReady = new WeakSet<Redis>();
  private down = false;
  /** Callers waiting for each connection to be ready (nextReady). */
  private readonly readyWaiters = new Map<Redis, Set<ReadyWaiter>>();
  /** What was already logged during the current outage (warnOncePerOutage). */
  private readonly warnedThisOutage = new Set<string>();
  private lastError = '';
  private closed = false;

  constructor(
    readonly settings: RedisUrlSettings,
    private readonly log: Logger,
    private readonly options: LinkOptions,
  ) {
    this.cmd = new (RedisClass())({
      ...settings.options,
      enableOfflineQueue: false,
      // A command whose reply was lost fails here; callers that may retry do so themselves,
      // with scripts written to be safe to run twice.
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      connectTimeout: options.connectTimeoutMs,
      retryStrategy: (times) => Math.min(50 * times, 1000),
      keepAlive: 10_000,
      connectionName: 'pulsar-tasks',
    });
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
    this.cmd.on('close', () => {
      if (this.closed || !this.seenReady.has(this.cmd) || this.down) return;
      this.down = true;
      reportHealth('redis_down');
      this.log.error(
        `lost the connection to Redis ${settings.display}${this.lastError ? ` (${this.lastError})` : ''}; reconnecting, commands fail meanwhile`,
      );
    });
  }

  private watchReady(conn: Redis): void {
    conn.on('ready', () => this.seenReady.add(conn));
  }

  /** The connection pulls block on (made on first use). */
  get blocking(): Redis {
    this.blockingConn ??= this.duplicate('pulsar-tasks-pull');
    return this.blockingConn;
  }

  /** The subscriber connection (made on first use; ioredis subscribes again after a reconnection). */
  get subscriber(): Redis {
    this.subscriberConn ??= this.duplicate('pulsar-tasks-sub', true);
    return this.subscriberConn;
  }

  private duplicate(connectionName: string, offlineQueue = false): Redis {
    const conn = this.cmd.duplicate({ connectionName, enableOfflineQueue: offlineQueue, maxRetriesPerRequest: offlineQueue ? null : 0 });
    // Its outages are the command connection's too, and logged there.
    conn.on('error', () => undefined);
    this.watchReady(conn);
    return conn;
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
  async ready(conn: Redis = this.cmd, waitMs = 0): Promise<void> {
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
  private nextReady(conn: Redis, ms: number, first: boolean): Promise<boolean> {
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
   * retried after the reconnection until `waitMs` has passed; without, it fails at once.
   */
  async run<T>(fn: (redis: Redis) => Promise<T>, waitMs = 0): Promise<T> {
    // The process's monotonic clock: a wait is a duration, whatever the wall clock does.
    const deadline = performance.now() + waitMs;
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
    const conns = [this.cmd, this.subscriberConn].filter((c): c is Redis => c !== null);
    this.blockingConn?.disconnect();
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
