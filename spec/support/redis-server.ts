/**
 * A redis-server owned by a test: a free port, a temporary directory, `--appendonly yes` so a
 * restart keeps the data, stopped (and its directory removed) afterwards.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The redis-server binary (`REDIS_SERVER` overrides). */
export const REDIS_SERVER_BIN = process.env.REDIS_SERVER ?? 'redis-server';

/** True when a redis-server binary can be run here. */
export function redisServerInstalled(): boolean {
  return spawnSync(REDIS_SERVER_BIN, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts `redis-server args` and resolves `ready` once it accepts connections (rejects, the process
 * killed, when it exits first or takes more than 20 s); its output keeps being drained after.
 */
export function spawnRedisServer(args: string[], what: string): { child: ChildProcess; exited: Promise<void>; ready: Promise<void> } {
  const child = spawn(REDIS_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${what} did not start within 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null) => fail(new Error(`${what} exited (${code}) at start:\n${output}`));
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    const fail = (err: Error) => {
      cleanup();
      child.kill('SIGKILL');
      reject(err);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', onExit);
  }).then(() => {
    // Keep draining its output so the pipe never fills up.
    child.stdout?.resume();
    child.stderr?.resume();
  });
  return { child, exited, ready };
}

/** One test-owned redis-server process, restartable on the same port and data directory. */
export class TestRedisServer {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  /** Starts a server on `port` (default: a free one) in a new temporary directory. */
  static async start(port?: number): Promise<TestRedisServer> {
    const server = new TestRedisServer(port ?? (await freePort()), mkdtempSync(path.join(tmpdir(), 'pulsar-tasks-redis-')));
    await server.start();
    return server;
  }

  /** `redis://127.0.0.1:<port>/<db>` */
  url(db = 0): string {
    return `redis://127.0.0.1:${this.port}/${db}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Starts the process (again) and resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.child) return;
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes'];
    args.push('--save', '', '--daemonize', 'no', '--protected-mode', 'no');
    const started = spawnRedisServer(args, 'redis-server');
    this.child = started.child;
    this.exited = started.exited;
    await started.ready.catch((err: unknown) => {
      this.child = null;
      throw err;
    });
  }

  /** Stops the process gracefully (SIGTERM: Redis syncs its append-only file first). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills the process and removes its directory at once (for a process 'exit' handler). */
  destroyNow(): void {
    this.child?.kill('SIGKILL');
    this.child = null;
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops the server and removes its directory. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
