/**
 * Messages people read: singular units, a log line for each failed attempt that will be retried.
 */
import { expect } from 'chai';
import { MemoryStore } from '../../src/backends/memory/memory.js';
import { logSettings } from '../../src/infra/logger.js';
import { TaskTimeoutError } from '../../src/model/errors.js';
import { FAILURE } from '../../src/model/states.js';
import { TaskBackend } from '../../src/producer/backend.js';
import { JobRegistry } from '../../src/job/registry.js';
import { startWorker } from '../../src/worker/worker-runtime.js';

describe('messages', () => {
  it('says "after 1 second", not "1 seconds"', () => {
    expect(new TaskTimeoutError('t1', 1).message).to.equal('Task t1 was not ready after 1 second');
    expect(new TaskTimeoutError('t1', 2).message).to.equal('Task t1 was not ready after 2 seconds');
  });

  it('logs each failed attempt that will be retried, with the attempt and the delay', async () => {
    const lines: string[] = [];
    const saved = { ...logSettings };
    Object.assign(logSettings, { level: 'warn', json: false, write: (line: string) => lines.push(line) });
    const registry = await JobRegistry.load(['jobs/*']);
    const store = new MemoryStore('messages-spec');
    const producer = new TaskBackend(store, { name: 'messages', url: 'local://', registry });
    const worker = new TaskBackend(store, { name: 'messages', url: 'local://', registry });
    startWorker(worker, { id: 'w1', concurrency: 'inline', pid: process.pid });
    try {
      const id = await producer.queueTask('fail', { message: 'flaky' }, { maxRetries: 2, retryDelay: 0.01 });
      const task = await producer.waitForTask(id!, 30);
      expect(task!.status).to.equal(FAILURE);
    } finally {
      Object.assign(logSettings, saved);
      await worker.close(1);
      await producer.close(1);
    }
    const retries = lines.filter((l) => l.includes('retrying'));
    expect(retries).to.have.length(2);
    expect(retries[0]).to.match(/task\.fail\(\w+\) failed \(attempt 1 of 3\), retrying in 0\.01 seconds: flaky/);
    expect(retries[1]).to.match(/attempt 2 of 3/);
    expect(lines.filter((l) => /failed: flaky$/.test(l))).to.have.length(1);
  });
});
