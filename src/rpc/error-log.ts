/**
 * How RpcServer logs failed requests: a client's mistake (bad params, unknown job, a wait that
 * timed out) is not a server fault and goes to debug; a real fault goes to error as one line,
 * its stack to debug. Either is logged once per kind (method and error name) per window, with a
 * count of the repeats, so that a flood of bad requests cannot flood the log.
 */
import type { Logger } from '../infra/logger.js';

/** Milliseconds during which repeats of one kind are counted, not logged. */
const WINDOW_MS = 60_000;
/** Kinds remembered at most (a flood of distinct kinds starts the memory over). */
const MAX_KINDS = 1000;

/** Logs request errors once per kind per window. */
export class RequestErrorLog {
  private readonly kinds = new Map<string, { at: number; repeats: number }>();

  constructor(
    private readonly log: Logger,
    private readonly windowMs = WINDOW_MS,
  ) {}

  /** A client error (the request's fault): debug. */
  clientError(method: string, err: { name?: string; message: string }): void {
    this.report('debug', `${method}:${err.name ?? 'Error'}`, `${method} refused: ${err.message}`);
  }

  /** A server fault: one line at error, and the stack at debug. */
  serverError(method: string, err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    if (this.report('error', `${method}:${e.name}`, `${method} failed: ${e.name}: ${firstLine(e.message)}`) && e.stack) {
      this.log.debug(`${method} failed: ${e.stack}`);
    }
  }

  /** Logs unless this kind was logged within the window; true when it logged. */
  private report(level: 'debug' | 'error', kind: string, message: string): boolean {
    const now = Date.now();
    const seen = this.kinds.get(kind);
    if (seen && now - seen.at < this.windowMs) {
      seen.repeats++;
      return false;
    }
    if (!seen && this.kinds.size >= MAX_KINDS) this.kinds.clear();
    const repeats = seen?.repeats ?? 0;
    this.kinds.set(kind, { at: now, repeats: 0 });
    this.log[level](repeats ? `${message} (and ${repeats} more like it since the last report)` : message);
    return true;
  }
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
