/**
 * Messages between a driver and the worker processes it forks from bench/fixtures/ (BullMQ and
 * bee-queue workers), and the configuration those fixtures get as their first argument.
 */
import type { RedisTarget } from './protocol.js';

/** What a worker fixture is started with (JSON in argv[2]). */
export interface FixtureConfig {
  redis: RedisTarget;
  /** Queue name. */
  queue: string;
  /** Key prefix of the queue. */
  prefix: string;
  /** Jobs run at once by this worker. */
  concurrency: number;
}

export type ToFixture = { type: 'stop' };
export type FromFixture = { type: 'ready'; pid: number } | { type: 'failed'; error: string };

/** Reads the FixtureConfig a fixture was started with; throws if it is missing. */
export function fixtureConfig(argv: readonly string[] = process.argv): FixtureConfig {
  const raw = argv[2];
  if (!raw) throw new Error('a worker fixture takes its FixtureConfig as JSON in its first argument');
  return JSON.parse(raw) as FixtureConfig;
}

/**
 * Wires a fixture to its driver: `ready` once `start` resolves, `stop` closes it (via `close`)
 * and exits; the fixture also exits when its driver goes away.
 */
export function serveFixture(start: () => Promise<void>, close: () => Promise<void>): void {
  const send = (message: FromFixture) => process.send?.(message);
  const stop = () => {
    close()
      .catch((err: unknown) => console.error(`fixture ${process.pid} did not close cleanly: ${String(err)}`))
      .finally(() => process.exit(0));
  };
  process.on('message', (message: ToFixture) => {
    if (message.type === 'stop') stop();
  });
  process.on('disconnect', stop);
  start().then(
    () => send({ type: 'ready', pid: process.pid }),
    (err: unknown) => {
      send({ type: 'failed', error: String(err) });
      process.exit(1);
    },
  );
}
