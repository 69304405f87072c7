/**
 * RpcServer's methods over real HTTP: every method's happy path, with pulsar's names and shapes.
 */
import { expect } from 'chai';
import { FAILURE, SUCCESS } from '../../src/model/states.js';
import { post, resultOf, rpc, startRpc, errorOf, type RpcHarness } from './support.js';

type Wire = { id: string; name: string; status: number; result: unknown; kwargs: Record<string, unknown>; meta: Record<string, unknown> };

describe('RpcServer methods', () => {
  let h: RpcHarness;
  const call = async <T>(method: string, params?: unknown): Promise<T> => resultOf<T>(await post(h.url, rpc(method, params)));

  before(async () => {
    h = await startRpc({
      taskRequestParameters: (req) => ({ caller: String(req.headers['x-caller'] ?? 'anonymous') }),
    });
  });
  after(async () => h?.close());

  it('answers ping with pong', async () => {
    expect(await call('ping')).to.equal('pong');
  });

  it('echoes a message, named or positional', async () => {
    expect(await call('echo', { message: { deep: [1, 'two'] } })).to.deep.equal({ deep: [1, 'two'] });
    expect(await call('echo', ['hello'])).to.equal('hello');
  });

  it('gives the server info from the arbiter context', async () => {
    const info = await call<{ apps: { taskqueue: { jobs: string[] } } }>('server_info');
    expect(info.apps.taskqueue.jobs).to.include('addition');
  });

  it('lists its functions', async () => {
    const names = await call<string[]>('functions_list');
    for (const name of ['ping', 'echo', 'server_info', 'functions_list', 'job_list', 'next_scheduled_tasks', 'queue_task', 'get_task', 'get_tasks', 'wait_for_task', 'num_tasks', 'revoke_task']) {
      expect(names).to.include(name);
    }
  });

  it('lists jobs as [name, info] pairs, all of them or the ones named', async () => {
    const all = await call<[string, { doc: string; type: string; can_overlap: unknown; doc_syntax: string }][]>('job_list');
    const addition = all.find(([name]) => name === 'addition');
    expect(addition?.[1]).to.include({ type: 'regular', can_overlap: true, doc_syntax: 'markdown' });
    expect(addition?.[1].doc).to.match(/sum/);
    expect(all.find(([name]) => name === 'standarddeviation')?.[1].can_overlap).to.equal('maybe');
    const some = await call<[string, unknown][]>('job_list', { jobnames: ['addition', 'echo'] });
    expect(some.map(([n]) => n).sort()).to.deep.equal(['addition', 'echo']);
  });

  it('answers next_scheduled_tasks with null when the queue does not schedule', async () => {
    expect(await call('next_scheduled_tasks')).to.equal(null);
    expect(await call('next_scheduled_tasks', { jobnames: ['addition'] })).to.equal(null);
  });

  it('queues a task (other keys are kwargs) and waits for its result', async () => {
    const id = await call<string>('queue_task', { jobname: 'addition', a: 40, b: 50 });
    expect(id).to.be.a('string');
    const task = await call<Wire>('wait_for_task', { id });
    expect(task).to.include({ id, name: 'addition', status: SUCCESS, result: 90 });
    expect(task.kwargs).to.deep.equal({ a: 40, b: 50 });
  });

  it('queues a task with positional params [jobname, kwargs, meta_data, expiry]', async () => {
    const id = await call<string>('queue_task', ['addition', { a: 1, jobname: 'kwarg, not a job' }, { why: 'spec' }, 60]);
    const task = await call<Wire>('wait_for_task', [id, 10]);
    expect(task.status).to.equal(SUCCESS);
    expect(task.kwargs).to.deep.equal({ a: 1, jobname: 'kwarg, not a job' });
    expect(task.meta).to.include({ why: 'spec' });
  });

  it('adds taskRequestParameters to the meta of every queued task, over what the client sent', async () => {
    const reply = await post(h.url, rpc('queue_task', { jobname: 'addition', meta_data: { caller: 'spoofed', note: 'kept' } }), { 'X-Caller': 'alice' });
    const id = resultOf<string>(reply);
    const task = await call<Wire>('get_task', { id });
    expect(task.meta).to.include({ caller: 'alice', note: 'kept' });
  });

  it('reads a task by id, and null for an unknown id', async () => {
    const id = await call<string>('queue_task', { jobname: 'echo', message: 'hi' });
    await call('wait_for_task', { id });
    const task = await call<Wire>('get_task', { id });
    expect(task).to.include({ id, name: 'echo', status: SUCCESS, result: 'hi' });
    expect(await call('get_task', { id: 'no-such-task' })).to.equal(null);
    expect(await call('get_task', ['no-such-task'])).to.equal(null);
  });

  it('filters tasks by ids, name and status (codes or names)', async () => {
    const ok = await call<string>('queue_task', { jobname: 'addition', a: 2, b: 2 });
    const bad = await call<string>('queue_task', { jobname: 'fail', message: 'on purpose' });
    await call('wait_for_task', { id: ok });
    await call('wait_for_task', { id: bad });
    const byIds = await call<Wire[]>('get_tasks', { ids: [ok, bad] });
    expect(byIds.map((t) => t.id).sort()).to.deep.equal([ok, bad].sort());
    const failures = await call<Wire[]>('get_tasks', { name: 'fail', status: 'FAILURE' });
    expect(failures.map((t) => t.id)).to.include(bad);
    expect(failures.every((t) => t.status === FAILURE)).to.equal(true);
    const successes = await call<Wire[]>('get_tasks', { ids: [ok, bad], status: [SUCCESS] });
    expect(successes.map((t) => t.id)).to.deep.equal([ok]);
  });

  it('searches tasks by text and queue time, a page at a time, and refuses a bad range', async () => {
    const marker = `marker-${Math.random().toString(36).slice(2)}`;
    const id = await call<string>('queue_task', { jobname: 'echo', message: marker });
    const page = await call<{ tasks: Wire[]; cursor: string | null }>('get_tasks', { text: marker.toUpperCase() });
    expect(page.tasks.map((t) => t.id)).to.deep.equal([id]);
    expect(page.cursor).to.equal(null);
    const later = await call<{ tasks: Wire[] }>('get_tasks', { text: marker, queued_after: Date.now() / 1000 + 3600 });
    expect(later.tasks).to.deep.equal([]);
    let error: unknown;
    await call('get_tasks', { queued_after: 'yesterday' }).catch((e: unknown) => (error = e));
    expect(String((error as Error)?.message)).to.match(/queued_after/);
  });

  it('counts queued tasks', async () => {
    expect(await call<number>('num_tasks')).to.be.a('number').and.to.be.at.least(0);
  });

  it('revokes nothing that does not exist', async () => {
    expect(await call('revoke_task', { id: 'no-such-task' })).to.equal(false);
  });

  it('waits with a timeout: TaskTimeoutError while running, the task once ready', async () => {
    const id = await call<string>('queue_task', { jobname: 'asynchronous', lag: 1 });
    const early = errorOf(await post(h.url, rpc('wait_for_task', { id, timeout: 0.1 })));
    expect(early.code).to.equal(-32603);
    expect(early.data?.type).to.equal('TaskTimeoutError');
    const task = await call<Wire>('wait_for_task', { id, timeout: 30 });
    expect(task.status).to.equal(SUCCESS);
    expect(task.result).to.be.a('number').and.to.be.at.least(0.9);
  });
});
