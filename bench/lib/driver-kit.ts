/**
 * The driver's end of the orchestrator's IPC channel: waits for the one `run` request, hands it
 * to the driver's measuring function, sends back the report (or the failure) and exits.
 */
import {
  isDriverRequest,
  type ContenderId,
  type DriverReply,
  type DriverRequest,
  type DriverResult,
  type RedisUsage,
  type ThroughputRound,
} from './protocol.js';
import { median, summarizeLatency } from './stats.js';
import type { WindowResult } from './window.js';

/** Runs `measure` for the orchestrator's request, then exits this process. */
export function serveDriver(measure: (request: DriverRequest) => Promise<DriverResult>): void {
  if (!process.send) {
    console.error('A driver runs under bench/run.ts (it is forked with an IPC channel).');
    process.exit(2);
  }
  process.once('message', (message: unknown) => {
    if (!isDriverRequest(message)) return reply({ type: 'failed', error: 'unexpected message from the orchestrator' });
    measure(message).then(
      (result) => reply({ type: 'report', ...result }),
      (err: unknown) => reply({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
}

function reply(message: DriverReply): void {
  process.send?.(message, () => {
    process.disconnect?.();
    // Clients that linger (timers, sockets) must not keep a finished driver alive.
    setTimeout(() => process.exit(message.type === 'report' ? 0 : 1), 100).unref();
  });
}

/** A driver's result from what every driver measures the same way. */
export function contenderResult(
  contender: ContenderId,
  setup: string,
  rounds: ThroughputRound[],
  latencySamplesMs: number[],
  measured: WindowResult,
  monitored: RedisUsage | null,
): DriverResult {
  return {
    report: {
      contender,
      setup,
      throughput: { rounds, medianTasksPerSec: median(rounds.map((r) => r.tasksPerSec)) },
      latency: summarizeLatency(latencySamplesMs),
      memory: measured.memory,
      cpu: measured.cpu,
      redis: measured.commandstats && monitored ? { commandstats: measured.commandstats, monitor: monitored } : null,
    },
    latencySamplesMs,
  };
}
