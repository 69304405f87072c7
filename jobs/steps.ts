/**
 * A job that reports its progress: the dashboard, `queue --wait` and their specs use it.
 */
import { Job, type TaskConsumer } from '../src/index.js';
import type { JsonObject } from '../src/model/json.js';

/** Takes `steps` steps of `lag` seconds each, reporting `{current, total}` after each; returns `steps`. */
export class Steps extends Job {
  override doc = 'Takes `steps` steps of `lag` seconds, reporting its progress after each one.';
  override kwargsSchema: JsonObject = {
    type: 'object',
    properties: {
      steps: { type: 'integer', minimum: 0, default: 5, description: 'how many steps' },
      lag: { type: 'number', minimum: 0, default: 0.2, description: 'seconds per step' },
    },
    additionalProperties: false,
  };
  async run(consumer: TaskConsumer, { steps = 5, lag = 0.2 }: JsonObject): Promise<number> {
    const total = Math.max(0, Math.floor(Number(steps)));
    for (let current = 1; current <= total; current++) {
      await pause(Number(lag) * 1000, consumer.signal);
      await consumer.progress({ current, total });
    }
    return total;
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
