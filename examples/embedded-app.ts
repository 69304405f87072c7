/**
 * An actor application that embeds pulsar-tasks (README "Embedding"): a nact system where
 * - an "api" actor queues work on two TaskQueues by message, and handles the replies in its mailbox;
 * - a "notifier" actor subscribes to task_done of both queues and counts the results;
 * - a "supervisor" actor hears from the arbiter when a queue restarts (here after a crash injected
 *   in a monitor hook) and keeps going: the queue's ref and the subscription outlive the restart.
 *
 * Run it: `npx tsx examples/embedded-app.ts`. The specs run it too (spec/runtime/example.spec.ts).
 */
import { dispatch, spawn, start, stop } from 'nact';
import { askReply, isOk, spawnArbiter, TaskQueue, type ArbiterNotice, type QueueRefMessage, type Reply, type TaskEventMessage, type TypedRef } from '../src/index.js';

/** What the example did. */
export interface ExampleSummary {
  /** task_done messages the notifier got, per queue. */
  done: Record<string, number>;
  /** Sum of the results the notifier saw. */
  total: number;
  /** The supervisor's notices, by type. */
  notices: ArbiterNotice['type'][];
}

type ApiMessage = { type: 'work'; queue: TypedRef<QueueRefMessage>; count: number } | Reply<string | null>;

/** Runs the application: `batch` additions on each queue, a crash, then `batch` more; stops it all. */
export async function runExample(batch = 10): Promise<ExampleSummary> {
  const system = start();
  const app = spawn(system, (state: undefined) => state, 'app');

  // The supervisor: told by message when a queue restarts or is given up.
  const notices: ArbiterNotice[] = [];
  let noticed!: () => void;
  const restarting = new Promise<void>((resolve) => (noticed = resolve));
  const supervisor = spawn(app, (state: undefined, notice: ArbiterNotice) => {
    notices.push(notice);
    if (notice.type === 'pulsar_app_restarting') noticed();
    return state;
  }, 'supervisor') as TypedRef<ArbiterNotice>;

  // Two queues in one arbiter; the monitorTask hook of "emails" throws once, when asked to.
  let crash = false;
  const emails = new TaskQueue({
    name: 'emails',
    taskPaths: ['jobs/*'],
    concurrency: 'inline',
    leaseTimeout: 1,
    monitorTask: () => {
      if (!crash) return;
      crash = false;
      throw new Error('injected crash');
    },
  });
  const reports = new TaskQueue({ name: 'reports', taskPaths: ['jobs/*'], concurrency: 'inline' });
  const arbiter = spawnArbiter(app, { apps: [emails, reports], supervisor });
  await arbiter.start();

  // The notifier: counts task_done per queue, and wakes whoever waits for a count.
  const done: Record<string, number> = { emails: 0, reports: 0 };
  let total = 0;
  let waiter: { count: number; resolve: () => void } | null = null;
  const counted = () => (done.emails ?? 0) + (done.reports ?? 0);
  const notifier = spawn(app, (state: undefined, event: TaskEventMessage) => {
    done[event.queue] = (done[event.queue] ?? 0) + 1;
    total += typeof event.result === 'number' ? event.result : 0;
    if (waiter && counted() >= waiter.count) waiter.resolve();
    return state;
  }, 'notifier') as TypedRef<TaskEventMessage>;
  const doneCount = (count: number) => new Promise<void>((resolve) => (counted() >= count ? resolve() : (waiter = { count, resolve })));
  for (const queue of [emails.ref, reports.ref]) {
    await askReply<QueueRefMessage, true>(queue, (replyTo) => ({ type: 'subscribe', events: ['task_done'], subscriber: notifier, replyTo }), 10_000, 'subscribe');
  }

  // The api: queues `count` additions by message; a reply that is an error is retried.
  const api = spawn(app, (state: undefined, message: ApiMessage, ctx) => {
    const self = ctx.self as TypedRef<Reply<string | null>>;
    if ('type' in message) {
      for (let i = 1; i <= message.count; i++) dispatch(message.queue, { type: 'queue_task', jobName: 'addition', kwargs: { a: i, b: 0 }, replyTo: self });
    } else if (!isOk(message)) {
      console.error(`api: could not queue: ${message.error.message}`);
    }
    return state;
  }, 'api');

  dispatch(api, { type: 'work', queue: emails.ref, count: batch });
  dispatch(api, { type: 'work', queue: reports.ref, count: batch });
  await doneCount(2 * batch);

  // A crash in the emails monitor: the arbiter restarts it and tells the supervisor.
  const restarted = new Promise<void>((resolve) => arbiter.once('app_restarted', () => resolve()));
  crash = true;
  await restarting;
  await restarted;
  dispatch(api, { type: 'work', queue: emails.ref, count: batch });
  await doneCount(3 * batch);

  await arbiter.stop();
  stop(system);
  return { done, total, notices: notices.map((n) => n.type) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runExample().then(
    (summary) => console.log(JSON.stringify(summary)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
