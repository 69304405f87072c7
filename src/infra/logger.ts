/**
 * A small levelled logger: one line per event on stderr, as text or as JSON lines.
 * Children are named with dots (`pulsar.taskqueue.monitor`, `job.addition`).
 */
import { redactSecrets } from './secrets.js';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** Process-wide logging settings, changed by the CLI (`--log-level`, `--log-json`). */
export const logSettings: { level: LogLevel; json: boolean; write: (line: string) => void } = {
  level: parseLevel(process.env.PULSAR_TASKS_LOG_LEVEL) ?? (process.env.CI || isMocha() ? 'warn' : 'info'),
  json: process.env.PULSAR_TASKS_LOG_JSON === '1',
  write: (line) => process.stderr.write(line + '\n'),
};

function isMocha(): boolean {
  return process.argv.some((a) => a.includes('mocha'));
}

/** A level name, or undefined when `value` is not one. */
export function parseLevel(value: string | undefined): LogLevel | undefined {
  return value && value in RANK ? (value as LogLevel) : undefined;
}

/** Sets the process-wide level and format. */
export function configureLogging(options: { level?: LogLevel; json?: boolean }): void {
  if (options.level) logSettings.level = options.level;
  if (options.json !== undefined) logSettings.json = options.json;
  process.env.PULSAR_TASKS_LOG_LEVEL = logSettings.level;
  process.env.PULSAR_TASKS_LOG_JSON = logSettings.json ? '1' : '0';
}

/** A named logger. */
export class Logger {
  constructor(readonly name: string) {}

  child(name: string): Logger {
    return new Logger(`${this.name}.${name}`);
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.log('debug', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.log('info', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.log('warn', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.log('error', message, fields);
  }

  log(level: Exclude<LogLevel, 'silent'>, message: string, fields?: Record<string, unknown>): void {
    if (RANK[level] < RANK[logSettings.level]) return;
    // A backend URL in a message must not show its password (cheap test first: no '@', no URL).
    if (message.includes('@')) message = redactSecrets(message);
    const time = new Date().toISOString();
    if (logSettings.json) {
      logSettings.write(JSON.stringify({ time, level, logger: this.name, pid: process.pid, message, ...fields }));
    } else {
      const extra = fields && Object.keys(fields).length ? ' ' + JSON.stringify(fields) : '';
      logSettings.write(`${time} ${level.toUpperCase().padEnd(5)} [${this.name}:${process.pid}] ${message}${extra}`);
    }
  }
}

/** A logger by name. */
export function getLogger(name: string): Logger {
  return new Logger(name);
}
