/**
 * RpcServer as the arbiter runs it: a service app reaching its TaskQueue by actor messages.
 */
import { expect } from 'chai';
import { Arbiter } from '../../actors/arbiter.js';
import { RpcClient, RpcError } from '../../src/rpc/client.js';
import { RpcServer } from '../../src/rpc/server.js';
import { SUCCESS } from '../../src/model/states.js';
import { TaskQueue } from '../../src/app/taskqueue.js';

describe('RpcServer in an arbiter', () => {
  let arbiter: Arbiter;
  let rpc: RpcServer;
  let client: RpcClient;

  before(async () => {
    arbiter = new Arbiter({ handleSignals: false });
    arbiter.add(new TaskQueue({ taskPaths: ['jobs/*'], workers: 1, concurrency: 'inline' }));
    rpc = arbiter.add(new RpcServer({ bind: '127.0.0.1:0' }));
    await arbiter.start();
    client = new RpcClient(rpc.url);
  });
  after(async () => arbiter?.stop());

  it('queues a task through the monitor and waits for its result', async () => {
    const id = await client.queueTask('addition', { a: 40, b: 50 });
    const task = await client.waitForTask(id as string, 30);
    expect(task?.status).to.equal(SUCCESS);
    expect(task?.result).to.equal(90);
  });

  it('keeps the error type across the mailbox: an unknown job is TaskNotAvailable', async () => {
    const error = await client.queueTask('nosuchjob').catch((err: unknown) => err);
    expect(error).to.be.instanceOf(RpcError);
    expect(error).to.include({ code: -32603, message: 'Task nosuchjob is not registered' });
    expect((error as RpcError).type).to.equal('TaskNotAvailable');
  });

  it('keeps -32602 across the mailbox for options out of range and kwargs too deep, storing nothing', async () => {
    const before = (await client.getTasks()).length;
    const expiry = await client.call('queue_task', { jobname: 'echo', expiry: 1e13 }).catch((err: unknown) => err);
    expect(expiry).to.be.instanceOf(RpcError);
    expect(expiry).to.include({ code: -32602 });
    expect((expiry as RpcError).message).to.match(/expiry must be at most/);
    let deep: unknown = 1;
    for (let i = 0; i < 3000; i++) deep = { a: deep };
    const nested = await client.call('queue_task', { jobname: 'echo', message: deep as never }).catch((err: unknown) => err);
    expect(nested).to.include({ code: -32602 });
    expect((await client.getTasks()).length).to.equal(before);
  });

  it('answers server_info with the arbiter and every app, its own url included', async () => {
    const info = (await client.serverInfo()) as { arbiter: { pid: number }; apps: { rpc: { url: string }; taskqueue: unknown } };
    expect(info.arbiter.pid).to.equal(process.pid);
    expect(info.apps.rpc.url).to.equal(rpc.url);
    expect(info.apps.taskqueue).to.be.an('object');
  });

  it('refuses to start when its TaskQueue is not in the arbiter', async () => {
    const other = new Arbiter({ handleSignals: false });
    other.add(new RpcServer({ bind: '127.0.0.1:0', taskqueue: 'missing' }));
    const error = await other.start().catch((err: unknown) => err);
    expect((error as Error).message).to.include('"missing"');
  });
});
