/**
 * `queue`, `task`, `jobs`, `info`: talk to a running server over JSON-RPC and print its answers
 * as readable JSON on stdout. Each returns the exit status.
 */
import type { Json, JsonObject } from '../model/json.js';
import { readTokenFile } from './token-file.js';
import { RpcClient, type RpcQueueOptions } from '../rpc/client.js';
import { SUCCESS, statusString } from '../model/states.js';
import type { Task } from '../model/task.js';
import { watchTask } from './task-watch.js';
import { CliError, keyValues } from './values.js';

/** Where the server is. */
export interface ClientFlags {
  url: string;
  token?: string;
  tokenFile?: string;
}

/** Flags of `queue`. */
export interface QueueFlags extends ClientFlags {
  wait?: boolean;
  waitTimeout?: number;
  json?: boolean;
  priority?: number;
  delay?: number;
  eta?: number | string;
  maxRetries?: number;
  retryDelay?: number;
  timeout?: number;
  expiry?: number;
  idempotencyKey?: string;
}

/** The default server URL. */
export const DEFAULT_URL = 'http://127.0.0.1:8060';

/** The client of the server the flags name. */
export function clientOf(flags: ClientFlags): RpcClient {
  const token = flags.token || (flags.tokenFile ? readTokenFile(flags.tokenFile) : undefined);
  return new RpcClient(flags.url, token ? { token } : {});
}

/** Writes `value` as indented JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A task for people: the wire form with the status by name and times as ISO dates. */
export function taskView(task: Task): JsonObject {
  const wire = task.toWire();
  const iso = (seconds: number | null): Json => (seconds === null ? null : new Date(seconds * 1000).toISOString());
  return {
    ...(wire as unknown as JsonObject),
    status: statusString(wire.status),
    time_queued: iso(wire.time_queued),
    time_started: iso(wire.time_started),
    time_ended: iso(wire.time_ended),
    expiry: iso(wire.expiry),
    eta: iso(wire.eta),
  };
}

/**
 * `queue <job> [key=value ...] [options]`: prints the id; with `--json` the queued task; with
 * `--wait` (or `--wait-timeout`) follows the task live on stderr and prints it once ready.
 */
export async function queueCommand(job: string, args: string[], flags: QueueFlags): Promise<number> {
  const kwargs = keyValues(args);
  const client = clientOf(flags);
  const options: RpcQueueOptions = {};
  for (const key of ['priority', 'delay', 'eta', 'maxRetries', 'retryDelay', 'timeout', 'expiry', 'idempotencyKey'] as const) {
    if (flags[key] !== undefined) Object.assign(options, { [key]: flags[key] });
  }
  const id = await client.queueTask(job, kwargs, options);
  if (id === null) {
    throw new CliError(`${job} was not queued: a task of ${job} with the same arguments is not done yet (the job does not overlap)`);
  }
  if (!flags.wait && flags.waitTimeout === undefined) {
    if (!flags.json) {
      process.stdout.write(`${id}\n`);
      return 0;
    }
    const task = await client.getTask(id);
    printJson(task ? taskView(task) : { id });
    return 0;
  }
  const task = await watchTask(client, id, flags.waitTimeout, process.stderr);
  printJson(taskView(task));
  if (task.status !== SUCCESS) {
    process.stderr.write(`error: task ${id} ended ${task.statusString()}: ${String(task.result)}\n`);
    return 1;
  }
  return 0;
}

/** `task <id>` */
export async function taskCommand(id: string, flags: ClientFlags): Promise<number> {
  const task = await clientOf(flags).getTask(id);
  if (!task) throw new CliError(`no task ${id} on ${flags.url}`);
  printJson(taskView(task));
  return 0;
}

/** `jobs [name ...]`: an object of job infos by name; an unknown name is an error listing the known ones. */
export async function jobsCommand(names: string[], flags: ClientFlags): Promise<number> {
  const entries = await clientOf(flags).jobList();
  const known = entries.map(([name]) => name);
  for (const name of names) {
    if (known.includes(name)) continue;
    const sameCase = known.find((k) => k.toLowerCase() === name.toLowerCase());
    const hint = sameCase ? `did you mean "${sameCase}"? ` : '';
    throw new CliError(`unknown job "${name}": ${hint}known jobs: ${known.join(', ') || 'none'}`);
  }
  printJson(Object.fromEntries(names.length ? entries.filter(([name]) => names.includes(name)) : entries));
  return 0;
}

/** `info` */
export async function infoCommand(flags: ClientFlags): Promise<number> {
  printJson(await clientOf(flags).serverInfo());
  return 0;
}
