/**
 * The hooks of a suite whose tests open fresh apps on the specs' Redis (redis-env.ts).
 */
import type { Redis } from 'ioredis';
import { JobRegistry } from '../../src/job/registry.js';
import { dropNamespace, rawClient, redisAvailable } from './redis-env.js';

/** What the hooks give the suite's tests. */
export interface RedisSuite {
  /** The sample jobs (jobs/*). */
  registry: JobRegistry;
  /** A plain client, for looking at keys from outside the store. */
  raw: Redis;
  /** What a test opened: closed after each test. */
  readonly closing: (() => Promise<void>)[];
}

/**
 * Registers the hooks (call it in a `describe` body): the suite is skipped without Redis (it fails
 * in CI), each test's `closing` runs after it, and this run's namespace is dropped at the end.
 */
export function redisSuite(): RedisSuite {
  const suite = { closing: [] } as unknown as RedisSuite;
  before(async function () {
    if (!(await redisAvailable())) this.skip();
    suite.registry = await JobRegistry.load(['jobs/*']);
    suite.raw = rawClient();
  });
  afterEach(async () => {
    await Promise.all(suite.closing.splice(0).map((close) => close()));
  });
  after(async () => {
    (suite.raw as Redis | undefined)?.disconnect();
    await dropNamespace().catch(() => undefined);
  });
  return suite;
}
