/**
 * A Redis Cluster owned by the specs, on loopback: three masters with one replica each
 * (`redis-server --cluster-enabled yes --appendonly yes` on free ports below 55535, each node also
 * using port + 10000 for its cluster bus), joined by `redis-cli --cluster create … --cluster-replicas 1`,
 * ready once every node says `cluster_state:ok`. One cluster serves every cluster spec of a run
 * (`sharedCluster()`, started on first use): it is stopped and its directories removed when the
 * process exits.
 *
 * Without redis-server or redis-cli the cluster specs are skipped with one line saying so; in CI
 * (`CI` set) they fail instead.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { REDIS_SERVER_BIN, spawnRedisServer } from './redis-server.js';

/** The redis-cli binary (`REDIS_CLI` overrides). */
export const REDIS_CLI_BIN = process.env.REDIS_CLI ?? 'redis-cli';

/** Cluster bus ports are port + 10000: ports stay below 65535 - 10000. */
const MAX_PORT = 55535;

/** How long a node may be silent before the others fail it over (ms). */
export const NODE_TIMEOUT_MS = 3000;

/** What is missing to start a cluster here, or null. */
export function clusterToolsMissing(): string | null {
  for (const bin of [REDIS_SERVER_BIN, REDIS_CLI_BIN]) {
    if (spawnSync(bin, ['--version'], { stdio: 'ignore' }).status !== 0) return `no ${bin}`;
  }
  return null;
}

function listenable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port below 55535 whose bus port (+10000) is free too. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * (MAX_PORT - 20000));
    if (taken.has(port) || taken.has(port + 10000) || taken.has(port - 10000)) continue;
    if ((await listenable(port)) && (await listenable(port + 10000))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port pair for a cluster node');
}

/** One node: its process, port and directory. */
export class ClusterNodeProcess {
  child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  /** Starts (or restarts, same port and directory) and resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.child) return;
    const args = [
      '--port', String(this.port), '--bind', '127.0.0.1', '--protected-mode', 'no', '--dir', this.dir,
      '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
      '--appendonly', 'yes', '--save', '', '--daemonize', 'no',
    ];
    const started = spawnRedisServer(args, `cluster node ${this.port}`);
    this.child = started.child;
    this.exited = started.exited;
    await started.ready.catch((err: unknown) => {
      this.child = null;
      throw err;
    });
  }

  /** Kills the process at once (SIGKILL: a crash, nothing flushed beyond what the AOF has). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** A plain client of this node (lazy). */
  client(): Redis {
    const c = new Redis({ host: '127.0.0.1', port: this.port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    c.on('error', () => undefined);
    return c;
  }
}

/** A running three-master, three-replica cluster. */
export class TestRedisCluster {
  private constructor(readonly nodes: ClusterNodeProcess[]) {}

  /** Starts six nodes, joins them, waits for `cluster_state:ok` on each. */
  static async start(): Promise<TestRedisCluster> {
    const taken = new Set<number>();
    const nodes: ClusterNodeProcess[] = [];
    for (let i = 0; i < 6; i++) {
      nodes.push(new ClusterNodeProcess(await clusterPort(taken), mkdtempSync(path.join(tmpdir(), 'pulsar-tasks-cluster-'))));
    }
    const cluster = new TestRedisCluster(nodes);
    try {
      await Promise.all(nodes.map((n) => n.start()));
      const created = spawnSync(
        REDIS_CLI_BIN,
        ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'],
        { encoding: 'utf8', timeout: 60_000 },
      );
      if (created.status !== 0) throw new Error(`redis-cli --cluster create failed (${created.status}):\n${created.stdout}\n${created.stderr}`);
      await cluster.waitHealthy();
    } catch (err) {
      cluster.destroyNow();
      throw err;
    }
    return cluster;
  }

  /** `redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,…/` with `query`. */
  url(query: Record<string, string> = {}, scheme = 'redis+cluster'): string {
    const q = new URLSearchParams(query).toString();
    return `${scheme}://${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}/${q ? `?${q}` : ''}`;
  }

  /**
   * Resolves once every running node answers `cluster_state:ok` and sees three masters with
   * slots, and every replica is in sync with its master (60 s at most).
   */
  async waitHealthy(ms = 60_000): Promise<void> {
    const deadline = Date.now() + ms;
    let last = '';
    for (;;) {
      const states = await Promise.all(this.nodes.filter((n) => n.child).map((n) => this.info(n)));
      const synced = (s: string) => !s.includes('role:slave') || (s.includes('master_link_status:up') && s.includes('master_sync_in_progress:0'));
      if (states.every((s) => s.includes('cluster_state:ok') && s.includes('cluster_size:3') && synced(s))) return;
      last = states.join(' | ');
      if (Date.now() > deadline) throw new Error(`the cluster is not healthy after ${ms} ms: ${last}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private async info(node: ClusterNodeProcess): Promise<string> {
    const c = node.client();
    try {
      await c.connect();
      return `${String(await c.cluster('INFO'))}\n${await c.info('replication')}`;
    } catch (err) {
      return `node ${node.port}: ${(err as Error).message}`;
    } finally {
      c.disconnect();
    }
  }

  /** The masters as the cluster sees them now: port → node, running ones only. */
  async masters(): Promise<ClusterNodeProcess[]> {
    const out: ClusterNodeProcess[] = [];
    for (const node of this.nodes.filter((n) => n.child)) {
      const c = node.client();
      try {
        await c.connect();
        const role = (await c.role()) as unknown[];
        if (role[0] === 'master') out.push(node);
      } catch {
        // a node going down is not a master
      } finally {
        c.disconnect();
      }
    }
    return out;
  }

  /** The running node that serves `key` as master now. */
  async masterOf(key: string): Promise<ClusterNodeProcess> {
    const any = this.nodes.find((n) => n.child) as ClusterNodeProcess;
    const c = any.client();
    try {
      await c.connect();
      const slot = Number(await c.cluster('KEYSLOT', key));
      const slots = (await c.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
      const owner = slots.find(([from, to]) => slot >= from && slot <= to);
      const node = this.nodes.find((n) => n.port === owner?.[2][1]);
      if (!node) throw new Error(`no master serves slot ${slot}`);
      return node;
    } finally {
      c.disconnect();
    }
  }

  /** Kills every node and removes their directories at once (for a process 'exit' handler). */
  destroyNow(): void {
    for (const node of this.nodes) {
      node.child?.kill('SIGKILL');
      node.child = null;
      rmSync(node.dir, { recursive: true, force: true });
    }
  }
}

let shared: Promise<TestRedisCluster | null> | null = null;
let warned = false;

/**
 * The cluster of this run, started on first use and shared by every cluster spec; null when the
 * tools are missing outside CI (after one line saying so). In CI a missing tool rejects.
 */
export function sharedCluster(): Promise<TestRedisCluster | null> {
  shared ??= (async () => {
    const missing = clusterToolsMissing();
    if (missing) {
      if (process.env.CI) throw new Error(`${missing}: cannot start a Redis Cluster (CI never skips the cluster specs)`);
      if (!warned) {
        warned = true;
        console.warn(`SKIPPING the Redis Cluster specs: ${missing}; install redis-server and redis-cli (apt install redis-server redis-tools)`);
      }
      return null;
    }
    const cluster = await TestRedisCluster.start();
    process.once('exit', () => cluster.destroyNow());
    return cluster;
  })();
  return shared;
}
