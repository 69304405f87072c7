/**
 * The `pulsar-tasks` command line (SPEC §8), on commander: `serve` runs an arbiter; `queue`,
 * `task`, `tasks`, `jobs`, `info`, `retry`, `revoke`, `purge` talk to a running server over JSON-RPC.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_URL, infoCommand, jobsCommand, queueCommand, taskCommand, type ClientFlags, type QueueFlags } from './client-commands.js';
import type { ServeFlags } from './serve.js';
import { DEFAULT_TASKS_LIMIT, purgeCommand, retryCommand, revokeCommand, tasksCommand, type PurgeFlags, type TasksFlags } from './operation-commands.js';
import {
  bindAddress,
  CliError,
  commaList,
  duration,
  endedStatusList,
  finiteNumber,
  httpUrl,
  integerAtLeast,
  integerBetween,
  logLevel,
  nonEmpty,
  oneLine,
  positiveDuration,
  positiveSeconds,
  statusList,
  timeValue,
} from './values.js';

/** The version in package.json: two folders up from src/cli/, three from dist/src/cli/. */
function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pulsar-tasks') return pkg.version ?? '0.0.0';
    } catch {
      // not there: try the next folder up
    }
  }
  return '0.0.0';
}

/** Adds `--url` and `--token` to a command that talks to a server. */
function clientOptions(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'URL of the pulsar-tasks JSON-RPC server').env('PULSAR_TASKS_RPC_URL').default(DEFAULT_URL).argParser(httpUrl))
    .addOption(new Option('--token <token>', 'bearer token the server requires').env('PULSAR_TASKS_RPC_TOKEN'))
    .addOption(new Option('--token-file <file>', 'read the bearer token from this file (first line)').env('PULSAR_TASKS_RPC_TOKEN_FILE'));
}

/** The program; `setStatus` receives each command's exit status. */
export function buildProgram(setStatus: (status: number) => void): Command {
  const program = new Command('pulsar-tasks')
    .description('A distributed task queue for Node.js: run workers and a JSON-RPC API, queue and inspect tasks.')
    .version(packageVersion(), '-V, --version')
    .showSuggestionAfterError()
    // Errors become exceptions that runCli turns into an exit status, instead of process.exit().
    .exitOverride();

  program
    .command('serve')
    .description('run an arbiter: a TaskQueue, its workers, and its JSON-RPC server')
    .option('--config <file>', 'JSON file or JS/TS module of settings, keyed like the flags in camelCase; flags override it')
    .option('--name <name>', 'name of the TaskQueue (default: taskqueue)')
    .option('--task-paths <paths>', "job modules, comma-separated; 'folder/*' for every module in a folder", commaList)
    .option('--task-backend <url>', 'local:// (default) or redis://[:password@]host:port/db')
    .option('--concurrent-tasks <n>', 'tasks one worker runs at once (default: 5)', integerAtLeast(1))
    .option('--schedule-periodic', 'queue periodic jobs on their schedule')
    .option('-w, --workers <n>', 'number of workers; 0: the monitor runs tasks itself (default: 1)', integerAtLeast(0))
    .addOption(new Option('--concurrency <mode>', 'how workers run (default: process)').choices(['process', 'thread', 'inline']))
    .option('--max-requests <n>', 'replace a worker after it processed N tasks; 0: never (default: 0)', integerAtLeast(0))
    .option('-t, --timeout <seconds>', 'replace a worker silent this long (default: 600)', positiveSeconds)
    .option('--rpc-bind <host:port>', 'address of the JSON-RPC server (default: 127.0.0.1:8060)', bindAddress)
    .option('--no-rpc', 'run without the JSON-RPC server')
    .option('--rpc-token <token>', 'bearer token JSON-RPC clients must send (default: $PULSAR_TASKS_RPC_TOKEN); visible in ps: prefer the variable or --rpc-token-file')
    .addOption(new Option('--rpc-token-file <file>', 'read the bearer token from this file (first line)').env('PULSAR_TASKS_RPC_TOKEN_FILE'))
    .option('--rpc-cors <origins>', 'web page origins allowed to call the server (CORS), comma-separated, such as https://app.example.com', commaList)
    .option('--rpc-allowed-hosts <names>', 'Host names served besides loopback and the bind host when no token is set, comma-separated', commaList)
    .option('--rpc-insecure', 'allow a --rpc-bind reachable from other machines without a token')
    .option('--dashboard', 'serve the web dashboard at <rpc url>/dashboard/ (same bind and token as JSON-RPC)')
    .option('--no-metrics', 'do not serve GET /metrics (Prometheus) nor count tasks for it')
    .option('--wait-for-backend', 'at start, wait for the task backend (Redis) to answer instead of exiting')
    .option('--log-level <level>', 'debug, info, warn, error or silent (default: info)', logLevel)
    .option('--log-json', 'log JSON lines instead of text')
    .action(async (flags: ServeFlags, command: Command) => {
      const given = (key: string) => command.getOptionValueSource(key) === 'cli' || command.getOptionValueSource(key) === 'env';
      if (flags.rpc === false && given('rpcBind')) throw new CliError('--rpc-bind and --no-rpc cannot be used together');
      if (flags.rpc === false && given('dashboard')) throw new CliError('--dashboard needs the JSON-RPC server: it cannot be used with --no-rpc');
      // Loaded only for serve: the client commands start without the actors, Redis and the job loader.
      const { serve } = await import('./serve.js');
      await serve(flags, given);
      setStatus(0);
    });

  clientOptions(
    program
      .command('queue <job> [args...]')
      .description('queue a task and print its id; kwargs as key=value (values are JSON when they parse as JSON, else strings)')
      .option('--json', 'print the queued task as JSON instead of its id')
      .option('--wait', 'follow the task live (state, progress) and print it once done (exit status 1 unless SUCCESS)')
      .option('--wait-timeout <duration>', 'with --wait (implied): give up after this long (seconds, or 30s, 5m, ...)', positiveDuration)
      .option('--priority <n>', 'higher runs first (default: the job\'s)', finiteNumber)
      .option('--delay <duration>', 'not started before this long from now (seconds, or 30s, 5m, 2h, ...)', duration)
      .option('--eta <time>', 'not started before this time (ISO 8601 with an offset, or epoch seconds)', timeValue)
      .option('--max-retries <n>', 'attempts after a failure (default: the job\'s)', integerAtLeast(0))
      .option('--retry-delay <duration>', 'wait between a failure and the next attempt', duration)
      .option('--timeout <duration>', 'a run longer than this is REVOKED', positiveDuration)
      .option('--expiry <duration>', 'revoke the task if it has not started this long after queueing', duration)
      .option('--idempotency-key <key>', 'queueing again with the same key gives the first task\'s id, nothing new', nonEmpty)
      .addHelpText(
        'after',
        '\nExamples:\n  pulsar-tasks queue addition a=1 b=2 --wait\n  pulsar-tasks queue addition a=1 --priority 10 --delay 5m --max-retries 3\n  pulsar-tasks queue echo message=\'"42"\' --url http://127.0.0.1:8060',
      ),
  ).action(async (job: string, args: string[], flags: QueueFlags) => {
    if (flags.delay !== undefined && flags.eta !== undefined) throw new CliError('--delay and --eta cannot be used together');
    setStatus(await queueCommand(job, args, flags));
  });

  clientOptions(
    program
      .command('tasks')
      .description('list tasks, newest first, one page at a time (a table, or --json)')
      .option('--status <states>', 'only tasks in these states (comma-separated: QUEUED, STARTED, RETRY, SUCCESS, FAILURE, REVOKED)', statusList)
      .option('--job <name>', 'only tasks of this job', nonEmpty)
      .option('--limit <n>', `tasks per page, 1 to 1000 (default: ${DEFAULT_TASKS_LIMIT})`, integerBetween(1, 1000), DEFAULT_TASKS_LIMIT)
      .option('--cursor <cursor>', 'the next page: the cursor a previous call gave', nonEmpty)
      .option('--json', 'print {tasks, cursor} as JSON'),
  ).action(async (flags: TasksFlags) => setStatus(await tasksCommand(flags)));

  clientOptions(program.command('retry <id>').description('queue a new run of a FAILURE or REVOKED task (same kwargs) and print its id')).action(
    async (id: string, flags: ClientFlags) => setStatus(await retryCommand(id, flags)),
  );

  clientOptions(program.command('revoke <id>').description('revoke a task that is waiting to run')).action(async (id: string, flags: ClientFlags) =>
    setStatus(await revokeCommand(id, flags)),
  );

  clientOptions(
    program
      .command('purge')
      .description('delete ended tasks (SUCCESS, FAILURE, REVOKED) and their results')
      .option('--older-than <duration>', 'only tasks that ended longer ago than this (seconds, or 30m, 2h, 7d, ...; default: 0, every ended task)', duration, 0)
      .option('--status <states>', 'only tasks in these ended states (comma-separated: SUCCESS, FAILURE, REVOKED)', endedStatusList),
  ).action(async (flags: PurgeFlags) => setStatus(await purgeCommand(flags)));

  clientOptions(program.command('task <id>').description('print a task')).action(async (id: string, flags: ClientFlags) =>
    setStatus(await taskCommand(id, flags)),
  );

  clientOptions(program.command('jobs [names...]').description('list the jobs the server knows, or the ones named')).action(
    async (names: string[], flags: ClientFlags) => setStatus(await jobsCommand(names, flags)),
  );

  clientOptions(program.command('info').description('print the server info: arbiter, TaskQueues and their workers')).action(
    async (flags: ClientFlags) => setStatus(await infoCommand(flags)),
  );

  return program;
}

/**
 * Runs the command line; resolves to the exit status. Every error is one line on stderr:
 * commander prints its own (unknown flag, bad value), the rest are printed here.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  let status = 0;
  const program = buildProgram((s) => (status = s));
  try {
    await program.parseAsync([...argv]);
    return status;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`error: ${oneLine(err)}\n`);
    return 1;
  }
}
