/**
 * `serve --config FILE`: a JSON file or a JS/TS module of settings, keyed like the long flags in
 * camelCase (`taskPaths`, `rpcBind`, ...), plus TaskQueue settings that have no flag (`jobs`,
 * hooks, `shutdownGrace`, ...). Flags given on the command line override it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CliError } from './values.js';

/** Keys a config file may set. */
export const CONFIG_KEYS: readonly string[] = [
  // Flags of `serve`.
  'name', 'taskPaths', 'taskBackend', 'concurrentTasks', 'schedulePeriodic', 'workers', 'concurrency', 'maxRequests', 'timeout',
  'rpc', 'rpcBind', 'rpcToken', 'rpcTokenFile', 'rpcInsecure', 'rpcCors', 'rpcAllowedHosts', 'logLevel', 'logJson', 'waitForBackend',
  'dashboard', 'metrics',
  // TaskQueue settings without a flag.
  'jobs', 'shards', 'leaseTimeout', 'maxRedeliveries', 'shutdownGrace', 'stuckGrace', 'restartIntensity', 'restartPeriod', 'cwd', 'resultTtl', 'maxArgumentBytes', 'maxResultBytes',
  'monitorStart', 'monitorTask', 'workerStart', 'workerStopping', 'workerInfo',
  // RpcServer settings without a flag.
  'rpcName', 'rpcMaxBodyBytes', 'taskRequestParameters',
  // Arbiter settings.
  'queueRestarts',
];

/** Settings read from a config file, checked against CONFIG_KEYS. */
export type ConfigSettings = Record<string, unknown>;

/**
 * Loads `file` (relative to the working directory): `.json` is read as JSON; any other module is
 * imported, and its default export (an object, or a function returning one) or else its named
 * exports are the settings.
 */
export async function loadConfigFile(file: string, cwd = process.cwd()): Promise<ConfigSettings> {
  const full = path.resolve(cwd, file);
  let settings: unknown;
  try {
    if (full.endsWith('.json')) {
      settings = JSON.parse(readFileSync(full, 'utf8')) as unknown;
    } else {
      const mod = (await import(pathToFileURL(full).href)) as Record<string, unknown>;
      if ('default' in mod) {
        const value = mod.default;
        settings = typeof value === 'function' ? await (value as () => unknown)() : value;
      } else {
        settings = { ...mod };
      }
    }
  } catch (err) {
    throw new CliError(`--config ${file}: cannot load it: ${(err as Error).message}`);
  }
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    throw new CliError(`--config ${file}: expected an object of settings`);
  }
  for (const key of Object.keys(settings)) {
    if (!CONFIG_KEYS.includes(key)) throw new CliError(`--config ${file}: unknown setting "${key}" (known: ${CONFIG_KEYS.join(', ')})`);
  }
  return settings as ConfigSettings;
}
