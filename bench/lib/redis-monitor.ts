/**
 * Exact Redis command counts for one contender, whatever else uses the server: a MONITOR
 * connection sees every command; a client (connection) is the contender's once one of its
 * commands names a key or channel under the contender's namespace, and each `[lua]` line belongs
 * to the script call just before it (Redis runs one command at a time). MONITOR slows Redis, so
 * drivers run it over an extra, untimed round.
 */
import type { Redis } from 'ioredis';
import type { RedisUsage } from './protocol.js';

const SCRIPT_CALLS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

interface ClientTally {
  ours: boolean;
  /** Commands the client sent (pipelined and MULTI ones each count). */
  sent: number;
  scriptCalls: number;
  /** Commands its scripts ran. */
  inner: number;
  byCommand: Map<string, number>;
}

/** A running MONITOR that tallies commands per client. */
export class CommandMonitor {
  private readonly clients = new Map<string, ClientTally>();
  private lastScriptClient: ClientTally | null = null;
  private sentinelSeen: (() => void) | null = null;

  private constructor(
    private readonly monitor: Redis,
    private readonly namespace: string,
    private readonly sentinel: string,
  ) {
    monitor.on('monitor', (_time: string, args: string[], source: string) => this.see(args, source));
  }

  /** Starts monitoring with a duplicate of `stats` (which must not be used by the contender). */
  static async start(stats: Redis, namespace: string): Promise<CommandMonitor> {
    const monitor = await stats.duplicate().monitor();
    return new CommandMonitor(monitor, namespace, `bench-monitor-end:${namespace}`);
  }

  private see(args: string[], source: string): void {
    const command = (args[0] ?? '').toLowerCase();
    if (source === 'lua') {
      const tally = this.lastScriptClient;
      if (tally) {
        tally.inner += 1;
        count(tally.byCommand, command);
      }
      return;
    }
    if (command === 'echo' && args[1] === this.sentinel) {
      this.sentinelSeen?.();
      return;
    }
    let tally = this.clients.get(source);
    if (!tally) this.clients.set(source, (tally = { ours: false, sent: 0, scriptCalls: 0, inner: 0, byCommand: new Map() }));
    tally.sent += 1;
    count(tally.byCommand, command);
    if (!tally.ours && args.some((a) => a.includes(this.namespace))) tally.ours = true;
    if (SCRIPT_CALLS.has(command)) {
      tally.scriptCalls += 1;
      this.lastScriptClient = tally;
    } else {
      this.lastScriptClient = null;
    }
  }

  /**
   * Waits until MONITOR has delivered every command sent before now (an ECHO sentinel sent
   * through `stats`), stops, and returns the contender's commands per task.
   */
  async stop(stats: Redis, tasks: number): Promise<RedisUsage> {
    const seen = new Promise<void>((resolve) => (this.sentinelSeen = resolve));
    await stats.echo(this.sentinel);
    await Promise.race([seen, new Promise((r) => setTimeout(r, 5000))]);
    this.monitor.disconnect();
    const ours = [...this.clients.values()].filter((t) => t.ours);
    const byCommand = new Map<string, number>();
    for (const t of ours) for (const [c, n] of t.byCommand) byCommand.set(c, (byCommand.get(c) ?? 0) + n);
    const sent = ours.reduce((s, t) => s + t.sent, 0);
    const inner = ours.reduce((s, t) => s + t.inner, 0);
    const perTaskByCommand: Record<string, number> = {};
    for (const [c, n] of [...byCommand].sort((a, b) => b[1] - a[1])) perTaskByCommand[c] = perTask(n, tasks);
    return {
      tasks,
      connections: ours.length,
      clientCommandsPerTask: perTask(sent, tasks),
      scriptCallsPerTask: perTask(ours.reduce((s, t) => s + t.scriptCalls, 0), tasks),
      scriptInnerCommandsPerTask: perTask(inner, tasks),
      commandsPerTask: perTask(sent + inner, tasks),
      perTaskByCommand,
    };
  }
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function perTask(n: number, tasks: number): number {
  return Math.round((n / tasks) * 100) / 100;
}

/** Runs `round` (which runs `tasks` tasks) under MONITOR and returns the contender's commands per task. */
export async function monitoredRound(stats: Redis, namespace: string, tasks: number, round: () => Promise<unknown>): Promise<RedisUsage> {
  const monitor = await CommandMonitor.start(stats, namespace);
  await round();
  return monitor.stop(stats, tasks);
}
