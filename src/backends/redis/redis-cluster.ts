/**
 * Redis Cluster for the redis:// store: `redis+cluster://[[user]:password@]host:port[,host:port…]/`
 * (and `rediss+cluster://`, TLS), read by ioredis's Cluster client, which follows MOVED/ASK
 * redirections, reconnects, and finds the promoted replica after a failover.
 *
 * Every key of a store shard carries one hash tag (`{name}`, or `{name:i}` with shards), so each
 * script's keys sit in one slot of one node; scripts are routed by their KEYS[1]. A URL's host
 * list is only where the client starts: it learns the rest of the cluster from them.
 */
import { createRequire } from 'node:module';
import type { Cluster, ClusterOptions, RedisOptions } from 'ioredis';
import { ImproperlyConfigured } from '../../model/errors.js';
import { redactUrl } from '../../infra/secrets.js';

/**
 * ioredis, loaded by the first connection: importing pulsar-tasks (every job module does, in
 * every worker child, local:// ones included) must not cost its ~24 MiB of RSS.
 */
let loaded: typeof import('ioredis') | null = null;
export function ioredis(): typeof import('ioredis') {
  loaded ??= createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
  return loaded;
}

/** A seed node of a cluster URL. */
export interface ClusterNode {
  host: string;
  port: number;
}

/** The cluster URL schemes (without their colon). */
export const CLUSTER_SCHEMES = ['redis+cluster', 'rediss+cluster'] as const;

/** True for `redis+cluster:` and `rediss+cluster:` (a URL's protocol, colon included or not). */
export function isClusterProtocol(protocol: string): boolean {
  return (CLUSTER_SCHEMES as readonly string[]).includes(protocol.replace(/:$/, ''));
}

/** Parses `host:port` (IPv6 in brackets, port required). */
function parseNode(text: string, raw: string): ClusterNode {
  const m = /^(\[[0-9a-f:.]+\]|[^\s:[\]/,@]+):(\d{1,5})$/i.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) {
    throw new ImproperlyConfigured(
      `Invalid Redis Cluster node "${text}" in "${redactUrl(raw)}": expected host:port, such as 127.0.0.1:7000 (IPv6 in brackets)`,
    );
  }
  return { host: (m[1] as string).replace(/^\[(.*)\]$/, '$1'), port };
}

/** The seed nodes of a cluster URL (a parsed `URL`, seeds beyond the first in `?nodes=`). */
export function clusterNodes(url: URL, raw: string): ClusterNode[] {
  if (!url.hostname) throw new ImproperlyConfigured(`A Redis Cluster URL needs at least one host:port, got "${redactUrl(raw)}"`);
  if (!url.port) {
    throw new ImproperlyConfigured(`Redis Cluster node "${url.hostname}" in "${redactUrl(raw)}" needs its port (host:port): cluster ports are not guessed`);
  }
  const nodes = [parseNode(url.host, raw)];
  const more = url.searchParams.get('nodes');
  if (more !== null) for (const text of more.split(',')) nodes.push(parseNode(text, raw));
  const db = url.pathname.replace(/^\/+/, '');
  if (db !== '' && db !== '0') {
    throw new ImproperlyConfigured(`Redis Cluster has database 0 only: "${redactUrl(raw)}" asks for database "${db}"`);
  }
  return nodes;
}

/** Settings of a Cluster client made from the options of a plain connection. */
export function newCluster(nodes: ClusterNode[], redisOptions: RedisOptions, cluster: ClusterOptions = {}): Cluster {
  const { host: _host, port: _port, db: _db, ...perNode } = redisOptions;
  const tls = perNode.tls;
  return new (ioredis().Cluster)(nodes, {
    // Reads and writes go to masters: a replica may lag behind what a script just wrote.
    scaleReads: 'master',
    // The tasks, leases and locks of one hash tag live in one slot: a lost master is replaced by
    // its replica (failover), after which the client finds it (slots refreshed on errors).
    clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2000,
    // Also every 2 s: after a failover, commands reach the promoted replica even when nothing
    // answered MOVED (a killed node answers nothing at all).
    slotsRefreshInterval: 2000,
    ...(tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
    ...cluster,
    redisOptions: { ...perNode, ...(cluster.redisOptions ?? {}) },
  });
}

/**
 * Connects each master of `cluster` as soon as the client learns of it (at its first slot refresh,
 * and whenever a failover or a reshard brings a new one). ioredis connects a cluster's nodes
 * lazily, on a node's first command; and a cluster client without an offline queue (ours: a
 * command fails rather than waits while the cluster is down) refuses a command to a node that is
 * still connecting ("Connection is closed"), then sends it again after `retryDelayOnFailover` and
 * a slot refresh. So the second command sent to a node in the tick of its first waited 200 ms or
 * more: a `queueTasks` over 6 shards on 3 masters had one shard's chunk 200–240 ms late in about
 * one fresh store of eight, which also moved its tasks' etas by as much (the store anchors them
 * at its own clock when it stores them). Replicas stay lazy: reads and writes go to masters.
 */
export function connectMastersEagerly(cluster: Cluster): void {
  cluster.on('+node', (node: { options: { readOnly?: boolean }; status: string; connect(): Promise<void> }) => {
    if (!node.options.readOnly && node.status === 'wait') node.connect().catch(() => undefined);
  });
}

/** A single-node connection's socket, to cork writes (ioredis's non-public `stream`; null for a cluster). */
export function socketOf(conn: object): { cork(): void; uncork(): void } | null {
  const socket = (conn as { stream?: { cork?: unknown; uncork?: unknown } }).stream;
  return typeof socket?.cork === 'function' && typeof socket.uncork === 'function' ? (socket as { cork(): void; uncork(): void }) : null;
}
