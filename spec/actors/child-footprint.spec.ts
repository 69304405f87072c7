/**
 * What a worker child loads: only what a worker needs. Its job modules import pulsar-tasks whole
 * (its index), yet the packages of other roles — ioredis (redis:// only), nact (the arbiter),
 * prom-client (metrics), cron-parser (cron rules), commander (the CLI) — stay unloaded until
 * used; and a worker process runs with the small-heap V8 settings (actors/child.ts).
 */
import { expect } from 'chai';
import type { Arbiter } from '../../actors/arbiter.js';
import { PROCESS_V8_FLAGS } from '../../actors/child.js';
import type { TaskQueue } from '../../src/app/taskqueue.js';
import { SUCCESS } from '../../src/model/states.js';
import { startQueue } from '../support/runtime.js';
import { dropNamespace, redisAvailable, specUrl } from '../redis/redis-env.js';

type Footprint = { packages: string[]; execArgv: string[] };
const OTHER_ROLES = ['nact', 'prom-client', 'cron-parser', 'commander'];

const CASES = [
  { mode: 'process', redis: false },
  { mode: 'thread', redis: false },
  { mode: 'process', redis: true },
] as const;

for (const { mode, redis } of CASES) {
  describe(`what a ${mode} worker loads (${redis ? 'redis' : 'local'}://)`, function () {
    this.timeout(120_000);
    let arbiter: Arbiter | undefined;
    let tq: TaskQueue;

    before(async function () {
      if (redis && !(await redisAvailable())) this.skip();
      const taskBackend = redis ? specUrl() : 'local://';
      ({ arbiter, tq } = await startQueue({ name: `footprint-${mode}-${Date.now()}`, workers: 1, concurrency: mode, taskBackend }));
    });
    after(async () => {
      await arbiter?.stop();
      if (redis) await dropNamespace();
    });

    it(`loads no package of another role${redis ? '' : ', nor ioredis'}, after running tasks`, async () => {
      const ids = (await tq.backend.queueTasks(Array.from({ length: 20 }, (_, i) => ({ jobName: 'addition', kwargs: { a: i, b: 1 } })))) as string[];
      for (const id of ids) expect((await tq.backend.waitForTask(id, 60))?.status).to.equal(SUCCESS);
      const task = await tq.backend.waitForTask((await tq.backend.queueTask('footprint')) as string, 60);
      expect(task?.status).to.equal(SUCCESS);
      const { packages, execArgv } = task?.result as Footprint;
      expect(packages.filter((p) => OTHER_ROLES.includes(p))).to.deep.equal([]);
      if (redis) expect(packages).to.include('ioredis');
      else expect(packages).to.not.include('ioredis');
      if (mode === 'process') expect(execArgv).to.include.members([...PROCESS_V8_FLAGS]);
    });
  });
}
