/**
 * RpcClient against a real RpcServer: typed helpers, errors as RpcError, an unreachable server.
 */
import { expect } from 'chai';
import { RpcClient, RpcConnectionError, RpcError } from '../../src/rpc/client.js';
import { SUCCESS } from '../../src/model/states.js';
import { Task } from '../../src/model/task.js';
import { startRpc, type RpcHarness } from './support.js';

describe('RpcClient', () => {
  let h: RpcHarness;
  let client: RpcClient;

  before(async () => {
    h = await startRpc({ token: 'tok' });
    client = new RpcClient(h.url, { token: 'tok' });
  });
  after(async () => h?.close());

  it('pings, echoes, and reads server info, functions, jobs and the schedule', async () => {
    expect(await client.ping()).to.equal('pong');
    expect(await client.echo([1, { two: 2 }])).to.deep.equal([1, { two: 2 }]);
    expect(await client.serverInfo()).to.have.property('apps');
    expect(await client.functionsList()).to.include('queue_task');
    expect((await client.jobList(['addition'])).map(([name]) => name)).to.deep.equal(['addition']);
    expect(await client.nextScheduledTasks()).to.equal(null);
    expect(await client.numTasks()).to.be.a('number');
  });

  it('queues a task and waits for it, as a Task', async () => {
    const id = await client.queueTask('addition', { a: 1, b: 2 }, { metaData: { from: 'client' }, expiry: 60 });
    expect(id).to.be.a('string');
    const task = await client.waitForTask(id as string, 30);
    expect(task).to.be.instanceOf(Task);
    expect(task?.status).to.equal(SUCCESS);
    expect(task?.result).to.equal(3);
    expect(task?.meta).to.include({ from: 'client' });
    expect(task?.expiry).to.not.equal(null);
    expect((await client.getTask(id as string))?.done()).to.equal(true);
    expect((await client.getTasks({ ids: [id as string], status: 'SUCCESS' })).map((t) => t.id)).to.deep.equal([id]);
  });

  it('sends kwargs named like reserved params positionally, so they stay kwargs', async () => {
    const id = await client.queueTask('echo', { message: 'm', expiry: 'not an option' });
    const task = await client.waitForTask(id as string, 30);
    expect(task?.kwargs).to.deep.equal({ message: 'm', expiry: 'not an option' });
  });

  it('throws RpcError with code, message and data.type', async () => {
    let error: unknown;
    await client.queueTask('nosuchjob').catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(RpcError);
    expect(error).to.include({ code: -32603, message: 'Task nosuchjob is not registered' });
    expect((error as RpcError).type).to.equal('TaskNotAvailable');
    const unknown = await client.call('nope').catch((err: unknown) => err);
    expect(unknown).to.be.instanceOf(RpcError).and.to.include({ code: -32601 });
  });

  it('times out waitForTask with an RpcError of type TaskTimeoutError', async () => {
    const id = await client.queueTask('asynchronous', { lag: 1 });
    const error = await client.waitForTask(id as string, 0.1).catch((err: unknown) => err);
    expect(error).to.be.instanceOf(RpcError);
    expect((error as RpcError).type).to.equal('TaskTimeoutError');
    expect((await client.waitForTask(id as string))?.status).to.equal(SUCCESS);
  });

  it('waits with a timeout that is not a whole number of milliseconds (the request timeout is one)', async () => {
    // 0.0015 s: the request's own timeout, (0.0015 + 30) × 1000 ms, is 30001.499999999996.
    expect(await client.waitForTask('no-such-task', 0.0015)).to.equal(null);
  });

  it('sends a batch and gives each result or error in order', async () => {
    const results = await client.batch([{ method: 'ping' }, { method: 'nope' }, { method: 'echo', params: ['x'] }]);
    expect(results[0]).to.equal('pong');
    expect(results[1]).to.be.instanceOf(RpcError);
    expect(results[2]).to.equal('x');
  });

  it('sends notifications', async () => {
    await client.notify('ping');
  });

  it('throws RpcError -32001 without the right token', async () => {
    const error = await new RpcClient(h.url, { token: 'wrong' }).ping().catch((err: unknown) => err);
    expect(error).to.be.instanceOf(RpcError).and.to.include({ code: -32001 });
    expect((error as Error).message).to.match(/unauthorized/);
  });

  it('throws RpcConnectionError naming the URL when nothing listens there', async () => {
    const other = await startRpc();
    const url = other.url;
    await other.close();
    const error = await new RpcClient(url).ping().catch((err: unknown) => err);
    expect(error).to.be.instanceOf(RpcConnectionError);
    expect((error as Error).message).to.match(new RegExp(`^cannot reach the pulsar-tasks server at ${url.replace(/\./g, '\\.')}: .*ECONNREFUSED`));
  });
});
