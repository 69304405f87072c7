/**
 * Bounds of queueTask's options and of task sizes, on the shared validation every entry point
 * goes through (TaskBackend.queueTask, and so JSON-RPC, the CLI and jobs).
 */
import { expect } from 'chai';
import { DateTime, Duration } from 'luxon';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { getLogger, logSettings } from '../../src/infra/logger.js';
import { ImproperlyConfigured, InvalidTaskArguments } from '../../src/model/errors.js';
import { FAILURE, SUCCESS } from '../../src/model/states.js';
import { TaskBackend } from '../../src/producer/backend.js';
import { Job } from '../../src/job/job.js';
import type { JsonObject } from '../../src/model/json.js';
import type { TaskConsumer } from '../../src/worker/consumer.js';
import { JobRegistry } from '../../src/job/registry.js';
import { RequestErrorLog } from '../../src/rpc/error-log.js';
import { startWorker } from '../../src/worker/worker-runtime.js';
import { rejection } from '../support/rejection.js';

describe('task limits', () => {
  let producer: TaskBackend;
  let worker: TaskBackend;
  before(async () => {
    const registry = await JobRegistry.load(['jobs/*']);
    const store = new MemoryStore('limits-spec');
    const settings = { name: 'limits', url: 'local://', registry, limits: { maxArgumentBytes: 4096, maxResultBytes: 1000 } };
    producer = new TaskBackend(store, settings);
    worker = new TaskBackend(store, settings);
    startWorker(worker, { id: 'w1', concurrency: 'inline', pid: process.pid });
  });
  after(async () => {
    await worker?.close(1);
    await producer?.close(1);
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['expiry', { expiry: 1e13 }, /expiry must be at most 315360000 seconds \(10 years\)/],
    ['expiry as a date', { expiry: DateTime.fromISO('9999-01-01') }, /expiry must be within 10 years of now/],
    ['delay', { delay: Duration.fromObject({ years: 20 }) }, /delay must be at most/],
    ['retryDelay', { retryDelay: 1e308 }, /retryDelay must be at most/],
    ['timeout', { timeout: 30 * 24 * 3600 }, /timeout must be at most 2073600 seconds \(24 days\)/],
    ['eta', { eta: 1e13 }, /eta must be epoch seconds within 10 years of now/],
    ['eta as a date', { eta: DateTime.invalid('nonsense') }, /eta must be a valid date/],
    ['maxRetries', { maxRetries: 1e6 }, /maxRetries must be between 0 and 1000/],
    ['priority', { priority: 1e12 }, /priority must be between/],
  ];
  for (const [what, options, message] of cases) {
    it(`refuses ${what} out of range with InvalidTaskArguments naming it, storing nothing`, async () => {
      const before = (await producer.getTasks()).length;
      const err = await rejection(producer.queueTask('echo', {}, options));
      expect(err).to.be.instanceOf(InvalidTaskArguments);
      expect(err.message).to.match(message);
      expect((await producer.getTasks()).length).to.equal(before);
    });
  }

  it('accepts the largest values allowed, and no timer overflows for them', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const id = await producer.queueTask('echo', {}, { expiry: 315_360_000, delay: 315_360_000, timeout: 2_073_600, maxRetries: 1000 });
      const task = await producer.getTask(id!);
      expect(task!.expiry!.isValid).to.equal(true);
      await new Promise((r) => setTimeout(r, 20));
      expect(await producer.revokeTask(id!)).to.equal(true);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).to.not.include('TimeoutOverflowWarning');
  });

  it('refuses kwargs and meta over maxArgumentBytes together', async () => {
    const err = await rejection(producer.queueTask('echo', { message: 'x'.repeat(3000) }, { metaParams: { note: 'y'.repeat(3000) } }));
    expect(err).to.be.instanceOf(InvalidTaskArguments);
    expect(err.message).to.match(/kwargs and metaParams of echo are over 4 KiB as JSON \(maxArgumentBytes\)/);
  });

  it('ends FAILURE, saying why, a task whose result is over maxResultBytes', async () => {
    const big = await producer.queueTask('echo', { message: 'x'.repeat(2000) });
    const task = await producer.waitForTask(big!, 30);
    expect(task!.status).to.equal(FAILURE);
    expect(task!.result).to.match(/returned 2 KiB of JSON, over the limit of 1000 bytes \(maxResultBytes\)/);
    const small = await producer.waitForTask((await producer.queueTask('echo', { message: 'ok' }))!, 30);
    expect(small!.status).to.equal(SUCCESS);
  });

  it('refuses a waitForTask timeout a timer cannot hold (2^31 ms and more)', async () => {
    const err = await rejection(producer.waitForTask('nope', 2 ** 31));
    expect(err).to.be.instanceOf(InvalidTaskArguments);
    expect(err.message).to.match(/waitForTask timeout must be at most/);
  });

  it('refuses bad limits settings naming them', () => {
    const registry = new JobRegistry();
    expect(() => new TaskBackend(new MemoryStore('x'), { name: 'x', url: 'local://', registry, limits: { maxResultBytes: 0 } })).to.throw(/maxResultBytes must be a positive integer/);
  });
});

describe('RequestErrorLog', () => {
  let lines: string[];
  const saved = { ...logSettings };
  beforeEach(() => {
    lines = [];
    Object.assign(logSettings, { level: 'debug', json: false, write: (line: string) => lines.push(line) });
  });
  afterEach(() => Object.assign(logSettings, saved));

  it('logs a client error at debug, once per kind per window', () => {
    const log = new RequestErrorLog(getLogger('spec'));
    for (let i = 0; i < 50; i++) log.clientError('queue_task', { name: 'InvalidTaskArguments', message: 'bad' });
    log.clientError('get_task', { name: 'RpcError', message: 'no id' });
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(/DEBUG .*queue_task refused: bad/);
  });

  it('logs a server fault as one line at error, its stack at debug only, and counts repeats', () => {
    const log = new RequestErrorLog(getLogger('spec'), 0);
    log.serverError('get_tasks', new TypeError('boom\nsecond line'));
    log.serverError('get_tasks', new TypeError('boom'));
    const errors = lines.filter((l) => l.includes('ERROR'));
    expect(errors).to.have.length(2);
    expect(errors[0]).to.match(/get_tasks failed: TypeError: boom$/);
    expect(errors.join('\n')).to.not.include('    at ');
    expect(lines.filter((l) => l.includes('DEBUG')).join('\n')).to.include('    at ');
    const windowed = new RequestErrorLog(getLogger('spec'));
    lines = [];
    for (let i = 0; i < 10; i++) windowed.serverError('x', new Error('same'));
    expect(lines.filter((l) => l.includes('ERROR'))).to.have.length(1);
  });
});

describe('job defaults within bounds', () => {
  it('refuses at registration a job whose timeout, expires or maxRetries is out of range, naming the job', () => {
    class Forever extends Job {
      override timeout = Duration.fromObject({ days: 30 });
      run(): number {
        return 1;
      }
    }
    class Ancient extends Job {
      override expires = Duration.fromObject({ years: 11 });
      run(): number {
        return 1;
      }
    }
    class Relentless extends Job {
      override maxRetries = 1e6;
      run(): number {
        return 1;
      }
    }
    expect(() => JobRegistry.fromClasses([Forever])).to.throw(ImproperlyConfigured, /Job "forever": timeout must be at most 2073600 seconds/);
    expect(() => JobRegistry.fromClasses([Ancient])).to.throw(ImproperlyConfigured, /Job "ancient": expires must be at most/);
    expect(() => JobRegistry.fromClasses([Relentless])).to.throw(ImproperlyConfigured, /Job "relentless": maxRetries must be an integer from 0 to 1000/);
  });
});

describe('progress values', () => {
  class Reporter extends Job {
    async run(consumer: TaskConsumer, { kind }: JsonObject): Promise<string> {
      const value = kind === 'nan' ? Number.NaN : kind === 'big' ? 'x'.repeat(5000) : 0.5;
      await consumer.progress(value);
      return 'reported';
    }
  }

  it('refuses a progress value that is not plain JSON or over maxArgumentBytes, failing the job that sent it', async () => {
    const registry = JobRegistry.fromClasses([Reporter]);
    const store = new MemoryStore('progress-spec');
    const settings = { name: 'progress', url: 'local://', registry, limits: { maxArgumentBytes: 4096 } };
    const producer = new TaskBackend(store, settings);
    const worker = new TaskBackend(store, settings);
    startWorker(worker, { id: 'w1', concurrency: 'inline', pid: process.pid });
    try {
      const ok = await producer.waitForTask((await producer.queueTask('reporter', { kind: 'ok' }))!, 30);
      expect(ok).to.include({ status: SUCCESS });
      expect(ok!.meta).to.deep.equal({ progress: 0.5 });
      const nan = await producer.waitForTask((await producer.queueTask('reporter', { kind: 'nan' }))!, 30);
      expect(nan!.status).to.equal(FAILURE);
      expect(nan!.result).to.match(/progress of task\.reporter\(\w+\) must be plain JSON: progress is NaN/);
      const big = await producer.waitForTask((await producer.queueTask('reporter', { kind: 'big' }))!, 30);
      expect(big!.result).to.match(/over maxArgumentBytes \(4 KiB\)/);
    } finally {
      await worker.close(1);
      await producer.close(1);
    }
  });
});
