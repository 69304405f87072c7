/**
 * Embedding in a nact application: the app's actors message a TaskQueue through its ref, get task
 * events in their mailboxes, and the host actor hears of failures; the arbiter can start again.
 */
import { expect } from 'chai';
import { dispatch, spawn, start, stop, type Ref } from 'nact';
import { spawnArbiter, type Arbiter } from '../../actors/arbiter.js';
import type { ArbiterNotice, QueueRefMessage, TaskEventMessage } from '../../actors/protocol.js';
import { askReply, isOk, type Reply, type TypedRef } from '../../actors/refs.js';
import type { WireTask } from '../../src/model/task.js';
import { SUCCESS } from '../../src/model/states.js';
import { TaskQueue } from '../../src/app/taskqueue.js';
import { alive, eventually, TASK_PATHS } from '../support/runtime.js';

describe('a TaskQueue embedded in a nact application', function () {
  this.timeout(90_000);
  let system: Ref<unknown>;
  let arbiter: Arbiter | undefined;
  const notices: ArbiterNotice[] = [];
  let host: Ref<unknown>;

  beforeEach(() => {
    system = start();
    notices.length = 0;
    host = spawn(system, (state: undefined, message: ArbiterNotice) => {
      notices.push(message);
      return state;
    }, 'host');
  });
  afterEach(async () => {
    await arbiter?.stop();
    arbiter = undefined;
    stop(system);
  });

  const embed = async (tq: TaskQueue, options: Parameters<typeof spawnArbiter>[1] = {}) => {
    arbiter = spawnArbiter(host, { apps: [tq], ...options });
    await arbiter.start();
    return arbiter;
  };

  it('lets a user actor queue a task by message and handle the reply in its own mailbox', async () => {
    const tq = new TaskQueue({ name: 'api', taskPaths: TASK_PATHS, concurrency: 'inline' });
    await embed(tq);
    const queue = arbiter!.queueRef('api');
    expect(tq.ref).to.equal(queue);
    let done!: (result: unknown) => void;
    const finished = new Promise((resolve) => (done = resolve));
    type Answer = Reply<string | null> | Reply<WireTask | null>;
    const user = spawn(host, (state: { id?: string } = {}, message: { type: 'go' } | Answer, ctx) => {
      const self = ctx.self as TypedRef<Answer>;
      if ('type' in message) {
        dispatch(queue, { type: 'queue_task', jobName: 'addition', kwargs: { a: 40, b: 50 }, replyTo: self } satisfies QueueRefMessage);
        return state;
      }
      if (!isOk(message)) throw new Error(message.error.message);
      if (!state.id) {
        const id = message.value as string;
        dispatch(queue, { type: 'wait_for_task', id, timeout: 30, replyTo: self } satisfies QueueRefMessage);
        return { id };
      }
      done(message.value);
      return state;
    }, 'api-user');
    dispatch(user, { type: 'go' });
    expect(await finished).to.include({ status: SUCCESS, result: 90 });
  });

  it('delivers task_done of 100 tasks exactly once each to a subscriber actor, with status and result, until it unsubscribes', async () => {
    const tq = new TaskQueue({ name: 'events', taskPaths: TASK_PATHS, concurrency: 'inline', concurrentTasks: 10 });
    await embed(tq);
    const seen: TaskEventMessage[] = [];
    const subscriber = spawn(host, (state: undefined, message: TaskEventMessage) => {
      seen.push(message);
      return state;
    }, 'notifier') as TypedRef<TaskEventMessage>;
    const queue = tq.ref;
    await askReply<QueueRefMessage, true>(queue, (replyTo) => ({ type: 'subscribe', events: ['task_done'], subscriber, replyTo }), 10_000, 'subscribe');
    const ids = (await tq.backend.queueTasks(Array.from({ length: 100 }, (_, i) => ({ jobName: 'addition', kwargs: { a: i, b: 1 } })))) as string[];
    await eventually(async () => seen.length >= 100, '100 task_done messages');
    await Promise.all(ids.map((id) => tq.backend.waitForTask(id, 30)));
    expect(new Set(seen.map((m) => m.id))).to.deep.equal(new Set(ids));
    expect(seen).to.have.length(100);
    expect(seen.every((m) => m.event === 'task_done' && m.status === SUCCESS && m.name === 'addition' && m.queue === 'events')).to.equal(true);
    expect(seen.find((m) => m.id === ids[7])?.result).to.equal(8);
    await askReply<QueueRefMessage, true>(queue, (replyTo) => ({ type: 'unsubscribe', subscriber, replyTo }), 10_000, 'unsubscribe');
    const after = (await tq.backend.queueTask('addition', { a: 1, b: 1 })) as string;
    await tq.backend.waitForTask(after, 30);
    // Subscribed again, a second subscriber sees the next task while the first, unsubscribed, does not.
    const witness: TaskEventMessage[] = [];
    const second = spawn(host, (state: undefined, message: TaskEventMessage) => {
      witness.push(message);
      return state;
    }, 'witness') as TypedRef<TaskEventMessage>;
    await askReply<QueueRefMessage, true>(queue, (replyTo) => ({ type: 'subscribe', events: ['task_done'], subscriber: second, replyTo }), 10_000, 'subscribe');
    const last = (await tq.backend.queueTask('addition', { a: 2, b: 2 })) as string;
    await eventually(async () => witness.some((m) => m.id === last), 'the witness to see the last task');
    expect(seen.map((m) => m.id)).to.not.include(after).and.not.include(last);
  });

  it('ends a subscription by itself once its subscriber actor stopped: the queue stops listening', async () => {
    const tq = new TaskQueue({ name: 'gone', taskPaths: TASK_PATHS, concurrency: 'inline' });
    await embed(tq);
    const dropped: string[] = [];
    const off = tq.backend.off.bind(tq.backend);
    tq.backend.off = (event, listener) => {
      dropped.push(event);
      return off(event, listener);
    };
    const seen: string[] = [];
    const subscriber = spawn(host, (state: undefined, message: TaskEventMessage) => {
      seen.push(message.id);
      return state;
    }, 'short-lived') as TypedRef<TaskEventMessage>;
    await askReply<QueueRefMessage, true>(tq.ref, (replyTo) => ({ type: 'subscribe', events: ['task_started'], subscriber, replyTo }), 10_000, 'subscribe');
    const id = (await tq.backend.queueTask('addition', { a: 1, b: 1 })) as string;
    await eventually(async () => seen.includes(id), 'the subscriber to see the task start');
    stop(subscriber);
    await eventually(async () => dropped.includes('task_started'), 'the queue to stop listening to task_started');
  });

  it('tells the host actor by message when a TaskQueue restarts and when the arbiter gives up on it', async () => {
    const tq = new TaskQueue({ name: 'doomed', taskPaths: TASK_PATHS, workers: 2, concurrency: 'thread', concurrentTasks: 1, restartIntensity: 1 });
    await embed(tq, { queueRestarts: { intensity: 1, period: 60, backoffMs: 100 } });
    await tq.backend.queueTasks(Array.from({ length: 4 }, () => ({ jobName: 'crash', kwargs: { code: 4 } })));
    await eventually(async () => notices.some((n) => n.type === 'pulsar_app_failed'), 'the host to hear the queue failed');
    expect(notices.map((n) => n.type)).to.deep.equal(['pulsar_app_restarting', 'pulsar_app_failed']);
    expect(notices[0]).to.include({ app: 'doomed', attempt: 1, delayMs: 100 });
    expect(notices[0]?.error.message).to.match(/restart budget exceeded/);
    expect(notices[1]?.error.name).to.equal('ApplicationFailed');
  });

  it('keeps two embedded TaskQueues isolated, and leaves no process, thread, timer or socket once the host actor stops', async () => {
    await new Promise((r) => setImmediate(r));
    const before = resourceCounts();
    const one = new TaskQueue({ name: 'one', taskPaths: TASK_PATHS, workers: 1, concurrency: 'process' });
    const two = new TaskQueue({ name: 'two', taskPaths: TASK_PATHS, workers: 1, concurrency: 'thread' });
    arbiter = spawnArbiter(host, { apps: [one, two] });
    await arbiter.start();
    const id = await askReply<QueueRefMessage, string | null>(one.ref, (replyTo) => ({ type: 'queue_task', jobName: 'checkworker', replyTo }), 10_000, 'queue_task');
    const done = await askReply<QueueRefMessage, WireTask | null>(one.ref, (replyTo) => ({ type: 'wait_for_task', id: id as string, timeout: 30, replyTo }), 40_000, 'wait');
    expect(done?.status).to.equal(SUCCESS);
    const pid = (done?.result as { pid: number }).pid;
    expect(await askReply<QueueRefMessage, WireTask | null>(two.ref, (replyTo) => ({ type: 'get_task', id: id as string, replyTo }), 10_000, 'get_task')).to.equal(null);
    const stopped = new Promise<void>((resolve) => arbiter!.once('stopped', () => resolve()));
    stop(host);
    await stopped;
    await new Promise((r) => setImmediate(r));
    expect(alive(pid), 'the worker process').to.equal(false);
    const kinds = ['Timeout', 'ProcessWrap', 'MessagePort', 'TCPWrap', 'PipeWrap'];
    const left = () => {
      const after = resourceCounts();
      return kinds.filter((kind) => (after[kind] ?? 0) > (before[kind] ?? 0)).map((kind) => `${kind} ${after[kind]} (before: ${before[kind] ?? 0})`);
    };
    await eventually(async () => left().length === 0, 'every handle to close', 10_000).catch(() => undefined);
    expect(left()).to.deep.equal([]);
  });

  it('starts again after a stop, in the same process', async () => {
    const tq = new TaskQueue({ name: 'again', taskPaths: TASK_PATHS, concurrency: 'inline' });
    await embed(tq);
    await arbiter!.stop();
    await arbiter!.start();
    const id = (await tq.backend.queueTask('addition', { a: 2, b: 3 })) as string;
    expect((await tq.backend.waitForTask(id, 30))?.result).to.equal(5);
    const reply = await askReply<QueueRefMessage, number>(tq.ref, (replyTo) => ({ type: 'num_tasks', replyTo }), 10_000, 'num_tasks');
    expect(reply).to.be.a('number');
  });
});

function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}
