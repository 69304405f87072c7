/**
 * Helpers of the CLI specs: run `node bin/pulsar-tasks.js` as a child process, and keep a
 * `serve` child running until it printed its JSON-RPC URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin', 'pulsar-tasks.js');

/** How a finished command went. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of children: none of the caller's pulsar-tasks settings leak in. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('PULSAR_TASKS_')) delete env[key];
  return { ...env, ...extra };
}

function spawnCli(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `pulsar-tasks ...args` to its end. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A running `serve`. */
export interface ServeChild {
  child: ChildProcess;
  url: string;
  /** Everything it wrote on stderr so far. */
  output(): string;
  /** SIGINT, then the exit code (SIGKILL if it is still there after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * Starts `pulsar-tasks serve ...args` and resolves once it logged `JSON-RPC API at <url>` and the
 * hint line after it (or once its stderr matches `ready`); rejects with its output if it exits first.
 */
export function startServe(args: string[], env: Record<string, string> = {}, ready?: RegExp): Promise<ServeChild> {
  const child = spawnCli(['serve', '--log-level', 'info', ...args], env);
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (graceMs = 20_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      stderr += d.toString();
      if (ready) {
        if (ready.test(stderr)) resolve({ child, url: '', output: () => stderr, stop });
        return;
      }
      const match = /JSON-RPC API at (https?:\/\/[^\s"\\]+)/.exec(stderr);
      // The hint is logged right after the URL: wait for its whole line too.
      if (match && /queue a task: .*\n/.test(stderr)) resolve({ child, url: match[1] as string, output: () => stderr, stop });
    };
    child.stderr?.on('data', onData);
    child.stdout?.resume();
    child.once('error', reject);
    void exited.then((code) => reject(new Error(`serve exited with ${code} before listening:\n${stderr}`)));
  });
}
