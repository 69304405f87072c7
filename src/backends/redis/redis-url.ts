/**
 * What a Redis URL says: `redis://` and `rediss://` (one Redis), `redis+cluster://` and
 * `rediss+cluster://` (a Redis Cluster, redis-cluster.ts), and the store settings of their query.
 */
import type { RedisOptions } from 'ioredis';
import { redactUrl } from '../../infra/secrets.js';
import { ImproperlyConfigured } from '../../model/errors.js';
import { foldSeedList as foldSeeds } from '../../store/schemes.js';
import { clusterNodes, isClusterProtocol, type ClusterNode } from './redis-cluster.js';

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
  /** The seed nodes of a Redis Cluster (redis+cluster://), null for one Redis. */
  cluster: ClusterNode[] | null;
  /** `?shards=K`: hash tags one queue is spread over (default 1: one tag, today's layout). */
  shards: number;
  /**
   * `?wait_replicas=N`: queueing, results and revocations are acknowledged once N replicas have
   * them (Redis WAIT), at most `?wait_timeout=` ms (default 1000); 0 (default): once the master has.
   */
  waitReplicas: number;
  waitTimeoutMs: number;
}

/** The most shards a queue may have. */
export const MAX_SHARDS = 256;

/** The namespace of keys when the URL gives none. */
export const DEFAULT_NAMESPACE = 'pulsar-tasks';

/**
 * Parses `redis://[[user]:password@]host:port/db?namespace=NS&poll_timeout=S&shards=K` (or
 * `rediss://`), and `redis+cluster://[[user]:password@]host:port[,host:port…]/?…` (or
 * `rediss+cluster://`) for a Redis Cluster.
 */
export function parseRedisUrl(raw: string | URL): RedisUrlSettings {
  let url: URL;
  const text = String(raw);
  try {
    url = new URL(foldSeeds(text));
  } catch {
    throw new ImproperlyConfigured(
      `Invalid Redis URL "${redactUrl(text)}": expected redis://host:port/db or redis+cluster://host:port[,host:port...]/`,
    );
  }
  const cluster = isClusterProtocol(url.protocol);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:' && !cluster) {
    throw new ImproperlyConfigured(
      `Not a Redis URL: "${url.protocol}//" (expected redis://, rediss://, redis+cluster:// or rediss+cluster://)`,
    );
  }
  const nodes = cluster ? clusterNodes(url, text) : null;
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
  const sh = url.searchParams.get('shards');
  const shards = sh === null ? 1 : Number(sh);
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
    throw new ImproperlyConfigured(`shards must be an integer from 1 to ${MAX_SHARDS}, got "${sh}" in "${redactUrl(text)}"`);
  }
  const wr = url.searchParams.get('wait_replicas');
  const waitReplicas = wr === null ? 0 : Number(wr);
  if (!Number.isInteger(waitReplicas) || waitReplicas < 0) {
    throw new ImproperlyConfigured(`wait_replicas must be an integer ≥ 0 (replicas a write waits for), got "${wr}"`);
  }
  const wt = url.searchParams.get('wait_timeout');
  const waitTimeoutMs = wt === null ? 1000 : Number(wt);
  if (!Number.isInteger(waitTimeoutMs) || waitTimeoutMs < 1) {
    throw new ImproperlyConfigured(`wait_timeout must be a positive integer of ms, got "${wt}"`);
  }
  // IPv6 hosts come bracketed from URL; net.connect wants them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const options: RedisOptions = nodes ? {} : { host, port, db };
  if (url.password) options.password = decodeURIComponent(url.password);
  if (url.username) options.username = decodeURIComponent(url.username);
  if (url.protocol === 'rediss:') options.tls = { servername: host };
  if (url.protocol === 'rediss+cluster:') options.tls = {};
  const display = nodes
    ? `${url.protocol}//${nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(',')}`
    : `${url.protocol}//${url.host}/${db}`;
  return { options, namespace, pollTimeout, display, cluster: nodes, shards, waitReplicas, waitTimeoutMs };
}
