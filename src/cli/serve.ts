/**
 * `pulsar-tasks serve`: settings from `--config` and flags, then an Arbiter running one TaskQueue
 * and (unless `--no-rpc`) its RpcServer.
 */
import { Arbiter, type ArbiterOptions } from '../../actors/arbiter.js';
import '../backends/index.js'; // registers the built-in backend schemes before URLs are checked
import { parseBackendUrl } from '../store/schemes.js';
import { configureLogging, getLogger, parseLevel, type LogLevel } from '../infra/logger.js';
import { readTokenFile } from './token-file.js';
import { RpcServer, type RpcServerOptions } from '../rpc/server.js';
import { TaskQueue, type TaskQueueConfig } from '../app/taskqueue.js';
import { CONFIG_KEYS, loadConfigFile, type ConfigSettings } from './config-file.js';
import { checkBackend } from './backend-check.js';
import { CliError, oneLine } from './values.js';

/** The flags of `serve`, as commander parsed them. */
export interface ServeFlags {
  config?: string;
  name?: string;
  taskPaths?: string[];
  taskBackend?: string;
  concurrentTasks?: number;
  schedulePeriodic?: boolean;
  workers?: number;
  concurrency?: string;
  maxRequests?: number;
  timeout?: number;
  rpc?: boolean;
  rpcBind?: string;
  rpcToken?: string;
  rpcTokenFile?: string;
  rpcCors?: string[];
  rpcAllowedHosts?: string[];
  rpcInsecure?: boolean;
  dashboard?: boolean;
  metrics?: boolean;
  logLevel?: LogLevel;
  logJson?: boolean;
  waitForBackend?: boolean;
}

/** Settings that are not the TaskQueue's: the RpcServer's, logging, and the arbiter's. */
const RPC_KEYS = new Set([
  'rpc', 'rpcBind', 'rpcToken', 'rpcTokenFile', 'rpcCors', 'rpcAllowedHosts', 'rpcInsecure', 'rpcName', 'rpcMaxBodyBytes', 'taskRequestParameters',
  'dashboard', 'metrics', 'logLevel', 'logJson', 'waitForBackend', 'queueRestarts',
]);
const RESTART_KEYS = ['intensity', 'period', 'backoffMs', 'maxBackoffMs'] as const;
const DEFAULT_BIND = '127.0.0.1:8060';

/**
 * Merges the config file and the flags given on the command line (`given(key)`), checks them,
 * starts the arbiter, and prints where the JSON-RPC server listens. Resolves once started; the
 * arbiter keeps the process alive until SIGINT/SIGTERM.
 */
export async function serve(flags: ServeFlags, given: (key: keyof ServeFlags) => boolean): Promise<void> {
  const settings: ConfigSettings = flags.config ? await loadConfigFile(flags.config) : {};
  for (const key of Object.keys(flags) as (keyof ServeFlags)[]) {
    if (key !== 'config' && given(key) && CONFIG_KEYS.includes(key)) settings[key] = flags[key];
  }
  const from = (key: string, flag: string) => (flags.config && !given(key as keyof ServeFlags) && key in settings ? `${key} in ${flags.config}` : flag);

  const level = settings.logLevel;
  if (level !== undefined && (typeof level !== 'string' || !parseLevel(level))) throw new CliError(`${from('logLevel', '--log-level')}: expected debug, info, warn, error or silent`);
  configureLogging({ level: level as LogLevel | undefined, json: settings.logJson === undefined ? undefined : Boolean(settings.logJson) });
  const log = getLogger('pulsar.cli');

  if (settings.taskBackend !== undefined) {
    try {
      parseBackendUrl(String(settings.taskBackend));
    } catch (err) {
      throw new CliError(`${from('taskBackend', '--task-backend')}: ${oneLine(err)}`);
    }
  }
  const queueConfig = Object.fromEntries(Object.entries(settings).filter(([key]) => !RPC_KEYS.has(key))) as TaskQueueConfig;
  const tq = new TaskQueue(queueConfig);
  const rpc = settings.rpc === false ? null : rpcServer(settings, tq.name, from);

  await checkBackend(tq.settings.taskBackend, tq.name, { wait: Boolean(settings.waitForBackend), log });

  const arbiter = new Arbiter({ queueRestarts: queueRestarts(settings.queueRestarts, from) });
  arbiter.add(tq);
  if (rpc) arbiter.add(rpc);
  // Neither a TaskQueue without workers nor the actor system holds the event loop by itself.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  arbiter.once('stopped', () => clearInterval(keepAlive));
  // The arbiter restarts a failing TaskQueue with a back-off; when it gives up, so does serve,
  // with a non-zero exit status (never 0 while tasks may wait).
  arbiter.on('app_failed', (name: string, error: Error) => {
    log.error(`${name} failed: ${oneLine(error)}; stopping`);
    void arbiter.stop().finally(() => process.exit(1));
  });
  try {
    await arbiter.start();
  } catch (err) {
    clearInterval(keepAlive);
    throw err;
  }
  if (!tq.backend.registry.names().length) {
    log.warn('no jobs to run: give the modules of your jobs with --task-paths (such as --task-paths "jobs/*") or taskPaths in --config');
  }
  if (rpc) {
    log.info(`JSON-RPC API at ${rpc.url}`);
    // A periodic job is queued by the scheduler: the hint names a regular one.
    log.info(queueHint(rpc, tq.backend.registry.regular().map((job) => job.name)));
  } else {
    log.info(`TaskQueue "${tq.name}" running without JSON-RPC (--no-rpc): queue tasks from jobs, or from a producer on a shared backend`);
  }
}

/** The arbiter's `queueRestarts` from a config file: an object of non-negative numbers. */
function queueRestarts(value: unknown, from: (key: string, flag: string) => string): ArbiterOptions['queueRestarts'] {
  if (value === undefined) return undefined;
  const where = from('queueRestarts', 'queueRestarts');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CliError(`${where}: expected an object with ${RESTART_KEYS.join(', ')}`);
  const policy: Record<string, number> = {};
  for (const [key, n] of Object.entries(value)) {
    if (!(RESTART_KEYS as readonly string[]).includes(key)) throw new CliError(`${where}: unknown key "${key}" (known: ${RESTART_KEYS.join(', ')})`);
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new CliError(`${where}.${key}: expected a number ≥ 0, got ${JSON.stringify(n)}`);
    policy[key] = n;
  }
  return policy;
}

function rpcServer(settings: ConfigSettings, taskqueue: string, from: (key: string, flag: string) => string): RpcServer {
  const str = (key: string, flag: string): string | undefined => {
    const value = settings[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new CliError(`${from(key, flag)}: expected a string`);
    return value;
  };
  const strings = (key: string, flag: string): string[] | undefined => {
    const value = settings[key];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new CliError(`${from(key, flag)}: expected a list of strings`);
    return value as string[];
  };
  const tokenFile = str('rpcTokenFile', '--rpc-token-file');
  const token = str('rpcToken', '--rpc-token') ?? (tokenFile === undefined ? undefined : readTokenFile(tokenFile));
  const parameters = settings.taskRequestParameters;
  if (parameters !== undefined && typeof parameters !== 'function') throw new CliError(`${from('taskRequestParameters', 'taskRequestParameters')}: expected a function`);
  let server: RpcServer;
  try {
    server = new RpcServer({
      name: str('rpcName', 'rpcName') ?? 'rpc',
      taskqueue,
      bind: str('rpcBind', '--rpc-bind') ?? DEFAULT_BIND,
      token,
      insecure: Boolean(settings.rpcInsecure),
      cors: strings('rpcCors', '--rpc-cors'),
      allowedHosts: strings('rpcAllowedHosts', '--rpc-allowed-hosts'),
      maxBodyBytes: settings.rpcMaxBodyBytes as number | undefined,
      taskRequestParameters: parameters as RpcServerOptions['taskRequestParameters'],
      dashboard: Boolean(settings.dashboard),
      metrics: settings.metrics !== false,
    });
  } catch (err) {
    const message = oneLine(err);
    throw new CliError(message.startsWith('Invalid bind') ? `${from('rpcBind', '--rpc-bind')}: ${message}` : message);
  }
  // Checked before anything starts: a refused bind should not first spawn workers.
  server.assertSafeBind();
  return server;
}

/** One line: how to queue a task, with the CLI and with curl. */
function queueHint(rpc: RpcServer, jobs: string[]): string {
  const [job, args, params] = jobs.includes('addition')
    ? ['addition', ' a=1 b=2', ',"a":1,"b":2']
    : [jobs[0] ?? '<job>', '', ''];
  const auth = rpc.requiresToken ? ` -H "Authorization: Bearer $PULSAR_TASKS_RPC_TOKEN"` : '';
  const tokenFlag = rpc.requiresToken ? ' --token "$PULSAR_TASKS_RPC_TOKEN"' : '';
  return (
    `queue a task: pulsar-tasks queue ${job}${args} --wait --url ${rpc.url}${tokenFlag}  ` +
    `or: curl -s ${rpc.url}${auth} -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"queue_task","params":{"jobname":"${job}"${params}}}'`
  );
}
