/**
 * The job of the chaos soak: works `ms` milliseconds (asynchronously) and writes each run's start
 * and end, with its process id, to the run log named by CHAOS_LOG, so the soak can tell which tasks
 * ran more than once and which kill explains it.
 */
import { appendFileSync } from 'node:fs';
import { Job, type TaskConsumer } from '../../src/index.js';
import type { JsonObject } from '../../src/model/json.js';

const LOG = process.env.CHAOS_LOG;

export class ChaosWork extends Job {
  override name = 'chaoswork';
  async run(consumer: TaskConsumer, { ms = 5 }: JsonObject): Promise<number> {
    if (LOG) appendFileSync(LOG, `${process.pid} ${consumer.taskId} start\n`);
    await new Promise((r) => setTimeout(r, Number(ms)));
    if (LOG) appendFileSync(LOG, `${process.pid} ${consumer.taskId} end\n`);
    return Number(ms);
  }
}
