/**
 * `tasks`, `retry`, `revoke`, `purge`: operate a running queue over JSON-RPC. Each returns the
 * exit status; every failure is a CliError (one line, exit status 1).
 */
import type { Task } from '../model/task.js';
import { clientOf, printJson, taskView, type ClientFlags } from './client-commands.js';
import { CliError } from './values.js';

/** Flags of `tasks`. */
export interface TasksFlags extends ClientFlags {
  status?: string[];
  job?: string;
  limit: number;
  cursor?: string;
  json?: boolean;
}

/** Flags of `purge`. */
export interface PurgeFlags extends ClientFlags {
  olderThan: number;
  status?: string[];
}

/** The default page of `tasks`. */
export const DEFAULT_TASKS_LIMIT = 50;

/**
 * `tasks [--status S] [--job J] [--limit N] [--cursor C] [--json]`: one page, newest first, as a
 * table (the next page's command on stderr) or as JSON `{tasks, cursor}`.
 */
export async function tasksCommand(flags: TasksFlags): Promise<number> {
  const filter = { ...(flags.status?.length ? { status: flags.status } : {}), ...(flags.job ? { name: flags.job } : {}) };
  const page = await clientOf(flags).listTasks(filter, { limit: flags.limit, cursor: flags.cursor ?? null });
  if (flags.json) {
    printJson({ tasks: page.tasks.map(taskView), cursor: page.cursor });
    return 0;
  }
  process.stdout.write(taskTable(page.tasks));
  if (page.cursor) {
    const again = [flags.status?.length ? `--status ${flags.status.join(',')}` : '', flags.job ? `--job ${flags.job}` : '', `--limit ${flags.limit}`];
    process.stderr.write(`more: pulsar-tasks tasks ${again.filter(Boolean).join(' ')} --cursor ${page.cursor}\n`);
  }
  return 0;
}

/** `retry <id>`: queues a new run of a FAILURE or REVOKED task and prints its id. */
export async function retryCommand(id: string, flags: ClientFlags): Promise<number> {
  const newId = await clientOf(flags).retryTask(id);
  if (newId === null) throw new CliError(`task ${id} was not retried: a task of its job with the same arguments is not done yet (the job does not overlap)`);
  process.stdout.write(`${newId}\n`);
  return 0;
}

/** `revoke <id>`: a waiting task → REVOKED. */
export async function revokeCommand(id: string, flags: ClientFlags): Promise<number> {
  const client = clientOf(flags);
  if (await client.revokeTask(id)) {
    process.stdout.write(`revoked ${id}\n`);
    return 0;
  }
  const task = await client.getTask(id);
  if (!task) throw new CliError(`no task ${id} on ${flags.url}`);
  throw new CliError(`task ${id} was not revoked: it is ${task.statusString()} (only a waiting task can be revoked)`);
}

/** `purge [--older-than DUR] [--status S]`: deletes ended tasks; prints how many. */
export async function purgeCommand(flags: PurgeFlags): Promise<number> {
  const count = await clientOf(flags).purgeTasks(flags.olderThan, flags.status);
  process.stdout.write(`purged ${count} task${count === 1 ? '' : 's'}\n`);
  return 0;
}

/** A plain-text table of tasks: id, job, state, queued, run time, retries, result. */
export function taskTable(tasks: readonly Task[]): string {
  const rows = tasks.map((t) => [
    t.id,
    t.name,
    t.statusString(),
    t.timeQueued.toUTC().toFormat("yyyy-LL-dd HH:mm:ss'Z'"),
    t.timeStarted && t.timeEnded ? `${(t.timeEnded.toMillis() - t.timeStarted.toMillis()) / 1000}s` : '',
    String(t.retries),
    shorten(t.result === null ? '' : typeof t.result === 'string' ? t.result : JSON.stringify(t.result)),
  ]);
  const header = ['ID', 'JOB', 'STATUS', 'QUEUED', 'RUN', 'RETRIES', 'RESULT'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd() + '\n';
  return line(header) + rows.map(line).join('');
}

function shorten(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > 40 ? `${flat.slice(0, 37)}...` : flat;
}
