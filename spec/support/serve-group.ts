/**
 * `pulsar-tasks serve` started as a terminal would run it: the leader of its own process group,
 * so that a spec can send a signal to the whole group (`kill -INT -<pid>`, what Ctrl-C does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin', 'pulsar-tasks.js');

/** A `serve` leading its own process group. */
export interface ServeGroup {
  child: ChildProcess;
  pid: number;
  /** Everything it wrote on stderr so far. */
  output(): string;
  /** Resolves with its exit code (null when a signal killed it). */
  exited: Promise<number | null>;
  /** Sends `signal` to every process of the group, as a terminal does. */
  signalGroup(signal: NodeJS.Signals): void;
  /** Resolves once its output matches `pattern` (rejects if it exits first). */
  waitFor(pattern: RegExp, what: string): Promise<void>;
  /** SIGKILL to the whole group, if anything of it is left (an after hook). */
  destroy(): Promise<void>;
}

/** Starts `pulsar-tasks serve ...args` detached (its own group); resolves once `ready` is logged. */
export async function startServeGroup(args: string[], ready: RegExp): Promise<ServeGroup> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('PULSAR_TASKS_')) delete env[key];
  const child = spawn(process.execPath, [BIN, 'serve', '--log-level', 'info', ...args], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const wake of waiters) wake();
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = child.pid as number;
  const waitFor = (pattern: RegExp, what: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(stderr)) {
          waiters.delete(check);
          resolve();
        }
      };
      waiters.add(check);
      check();
      void exited.then(() => {
        if (waiters.delete(check)) reject(new Error(`serve exited before ${what}:\n${stderr}`));
      });
    });
  const group: ServeGroup = {
    child,
    pid,
    output: () => stderr,
    exited,
    signalGroup: (signal) => process.kill(-pid, signal),
    waitFor,
    destroy: async () => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
      await exited;
    },
  };
  await waitFor(ready, 'it was ready');
  return group;
}
