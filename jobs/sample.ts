/**
 * Sample jobs: the demo (`npm start`) and the specs use them.
 */
import { Job, type TaskConsumer } from '../src/index.js';
import type { JsonObject } from '../src/model/json.js';

/** Returns a + b. */
export class Addition extends Job {
  override doc = 'Returns the sum of `a` and `b`.';
  run(_consumer: TaskConsumer, { a = 0, b = 0 }: JsonObject): number {
    return Number(a) + Number(b);
  }
}

/** Waits `lag` seconds (asynchronously) and returns the time it waited, in seconds. */
export class Asynchronous extends Job {
  override doc = 'Waits `lag` seconds without blocking its worker; returns the seconds waited.';
  async run(consumer: TaskConsumer, { lag = 1 }: JsonObject): Promise<number> {
    return wait(Number(lag), consumer.signal);
  }
}

/** Like Asynchronous, but two tasks with the same kwargs never run at once. */
export class NotOverlap extends Job {
  override doc = 'Like asynchronous, but never overlaps a task with the same kwargs.';
  override canOverlap = false;
  async run(consumer: TaskConsumer, { lag = 1 }: JsonObject): Promise<number> {
    return wait(Number(lag), consumer.signal);
  }
}

/** Returns the ids of the tasks running in its worker (itself included) and the worker's id. */
export class CheckWorker extends Job {
  override doc = 'Returns the ids of the tasks running in its worker.';
  run(consumer: TaskConsumer): { tasks: string[]; worker: string; pid: number } {
    return { tasks: [...consumer.backend.concurrentTasks], worker: consumer.worker.id, pid: consumer.worker.pid };
  }
}

/**
 * Without `inputs`, queues `sample` child tasks with random inputs and returns
 * `produced N new tasks`; with `inputs`, returns their standard deviation.
 */
export class StandardDeviation extends Job {
  override doc = 'Standard deviation of `inputs`; without inputs, queues `sample` tasks with random inputs.';
  override canOverlap = (kwargs: JsonObject): boolean => kwargs.inputs !== undefined;
  async run(consumer: TaskConsumer, { inputs, sample = 10, size = 10 }: JsonObject): Promise<number | string> {
    if (inputs === undefined) {
      const n = Number(sample);
      for (let i = 0; i < n; i++) {
        const values = Array.from({ length: Number(size) }, () => Math.random());
        await this.queueTask(consumer, this.name, { inputs: values });
      }
      return `produced ${n} new tasks`;
    }
    if (!Array.isArray(inputs) || !inputs.length) throw new Error('inputs must be a non-empty array of numbers');
    const xs = inputs.map(Number);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    return Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
  }
}

/** Throws an Error with the given message. */
export class Fail extends Job {
  override doc = 'Throws an Error with `message`.';
  run(_consumer: TaskConsumer, { message = 'failure' }: JsonObject): never {
    throw new Error(String(message));
  }
}

function wait(lag: number, signal: AbortSignal): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve((performance.now() - start) / 1000);
    }, lag * 1000);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
