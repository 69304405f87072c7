/**
 * Jobs that declare their kwargs (a JSON Schema): checked at queue time on the producer and again
 * in the worker, with an error naming the field; shown by job_list.
 */
import { expect } from 'chai';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { ImproperlyConfigured, InvalidTaskArguments } from '../../src/model/errors.js';
import type { JsonObject } from '../../src/model/json.js';
import { FAILURE, SUCCESS } from '../../src/model/states.js';
import { Job } from '../../src/job/job.js';
import { JobRegistry } from '../../src/job/registry.js';
import { TaskBackend } from '../../src/producer/backend.js';
import type { StandardResult, StandardSchemaV1 } from '../../src/job/standard-schema.js';
import type { TaskConsumer } from '../../src/worker/consumer.js';
import { Multiply } from '../../jobs/typed.js';
import { errorOf, post, resultOf, rpc, startRpc } from '../rpc/support.js';
import { startWorker } from '../../src/worker/worker-runtime.js';
import { rejection } from '../support/rejection.js';

describe('declared kwargs', () => {
  let producer: TaskBackend;
  let worker: TaskBackend;
  before(() => {
    const registry = JobRegistry.fromClasses([Multiply]);
    const store = new MemoryStore('kwargs-schema-spec');
    producer = new TaskBackend(store, { name: 'typed', url: 'local://', registry });
    worker = new TaskBackend(store, { name: 'typed', url: 'local://', registry });
    startWorker(worker, { id: 'w1', concurrency: 'inline', pid: process.pid });
  });
  after(async () => {
    await worker?.close(1);
    await producer?.close(1);
  });

  const refused: [JsonObject, RegExp][] = [
    [{ x: 'abc', y: 2 }, /kwargs of multiply do not match its schema: x must be number, got "abc"/],
    [{ x: 1 }, /missing required argument y/],
    [{ x: 1, y: 2, z: 3 }, /unknown argument z/],
  ];
  for (const [kwargs, message] of refused) {
    it(`refuses ${JSON.stringify(kwargs)} at queue time naming the field, storing nothing`, async () => {
      const err = await rejection(producer.queueTask('multiply', kwargs));
      expect(err).to.be.instanceOf(InvalidTaskArguments);
      expect(err.message).to.match(message);
      expect(await producer.getTasks({ name: 'multiply', status: FAILURE })).to.have.length(0);
    });
  }

  it('runs a task whose kwargs match', async () => {
    const task = await producer.waitForTask((await producer.queueTask('multiply', { x: 6, y: 7 }))!, 30);
    expect(task).to.include({ status: SUCCESS, result: 42 });
  });

  it('checks again in the worker: a task stored by other means ends FAILURE naming the field, without running', async () => {
    const id = (await producer.queueTask('multiply', { x: 1, y: 1 }, { delay: 3600 }))!;
    const [wire] = await producer.store.get([id]);
    await producer.revokeTask(id);
    await producer.store.queue([{ ...wire!, id: `${id}-forged`, status: 6, eta: null, kwargs: { x: 'forged', y: 1 } }]);
    const task = await producer.waitForTask(`${id}-forged`, 30);
    expect(task!.status).to.equal(FAILURE);
    expect(task!.result).to.match(/x must be number, got "forged"/);
    expect(task!.timeStarted).to.equal(null);
  });

  it('shows the schema in jobList', () => {
    const [[name, info]] = producer.jobList(['multiply']) as [[string, { kwargs?: JsonObject }]];
    expect(name).to.equal('multiply');
    expect(info.kwargs).to.deep.include({ required: ['x', 'y'] });
  });

  it('refuses a job whose schema is not a JSON Schema, naming the job', () => {
    class Broken extends Job {
      override kwargsSchema: JsonObject = { type: 'nonsense' };
      run(): number {
        return 1;
      }
    }
    expect(() => JobRegistry.fromClasses([Broken])).to.throw(ImproperlyConfigured, /Job "broken": kwargsSchema is not a valid JSON Schema/);
  });

  it('answers queue_task with bad kwargs with -32602 over JSON-RPC, and job_list shows the schema', async () => {
    const h = await startRpc();
    try {
      const bad = await post(h.url, rpc('queue_task', { jobname: 'multiply', x: 'abc', y: 2 }));
      expect(errorOf(bad).code).to.equal(-32602);
      expect(errorOf(bad).message).to.match(/x must be number, got "abc"/);
      const list = resultOf<[string, { kwargs?: JsonObject }][]>(await post(h.url, rpc('job_list', { jobnames: ['multiply'] })));
      expect(list[0]?.[1].kwargs).to.deep.include({ type: 'object' });
    } finally {
      await h.close();
    }
  });
});

/**
 * A Standard Schema as zod, valibot or arktype expose it (`~standard`), written by hand: an object
 * whose `count` must be an integer.
 */
function countSchema(options: { async?: boolean; jsonSchema?: boolean } = {}): StandardSchemaV1 {
  const validate = (value: unknown): StandardResult => {
    const count = (value as { count?: unknown }).count;
    return Number.isInteger(count) ? { value } : { issues: [{ message: 'Expected an integer', path: [{ key: 'count' }] }] };
  };
  return {
    '~standard': {
      version: 1,
      vendor: 'handmade',
      validate: options.async ? async (value) => validate(value) : validate,
      ...(options.jsonSchema ? { jsonSchema: { input: () => ({ type: 'object', properties: { count: { type: 'integer' } } }) } } : {}),
    },
  };
}

describe('declared kwargs as a Standard Schema (zod, valibot, ...)', () => {
  class Counted extends Job {
    override kwargsSchema = countSchema({ jsonSchema: true });
    run(_consumer: TaskConsumer, { count }: JsonObject): number {
      return Number(count) + 1;
    }
  }
  class Opaque extends Job {
    override kwargsSchema = countSchema();
    run(): number {
      return 0;
    }
  }
  class Slow extends Job {
    override kwargsSchema = countSchema({ async: true });
    run(): number {
      return 0;
    }
  }
  let producer: TaskBackend;
  let worker: TaskBackend;
  before(() => {
    const registry = JobRegistry.fromClasses([Counted, Opaque, Slow]);
    const store = new MemoryStore('standard-schema-spec');
    producer = new TaskBackend(store, { name: 'std', url: 'local://', registry });
    worker = new TaskBackend(store, { name: 'std', url: 'local://', registry });
    startWorker(worker, { id: 'w1', concurrency: 'inline', pid: process.pid });
  });
  after(async () => {
    await worker?.close(1);
    await producer?.close(1);
  });

  it('refuses kwargs its issues reject, naming the field, and runs the ones it accepts', async () => {
    const err = await rejection(producer.queueTask('counted', { count: 'many' }));
    expect(err).to.be.instanceOf(InvalidTaskArguments);
    expect(err.message).to.equal('kwargs of counted do not match its schema: count: Expected an integer');
    const task = await producer.waitForTask((await producer.queueTask('counted', { count: 41 }))!, 30);
    expect(task).to.include({ status: SUCCESS, result: 42 });
  });

  it('refuses an asynchronous schema with a clear error', async () => {
    const err = await rejection(producer.queueTask('slow', { count: 1 }));
    expect(err.message).to.match(/validates asynchronously, which is not supported/);
  });

  it('shows its JSON Schema in jobList when the library gives one, else its vendor', () => {
    const info = Object.fromEntries(producer.jobList(['counted', 'opaque'])) as Record<string, { kwargs?: unknown }>;
    expect(info.counted?.kwargs).to.deep.equal({ type: 'object', properties: { count: { type: 'integer' } } });
    expect(info.opaque?.kwargs).to.deep.equal({ standard_schema: 'handmade' });
  });
});
