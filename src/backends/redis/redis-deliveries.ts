/**
 * The worker side of the redis:// store: pull, start, finish, retry, renew, release, recover.
 * Every write names its delivery (worker and fencing token) and changes nothing when it is not the
 * task's current one. Starts and finishes of one event-loop turn run as one script each
 * (redis-write-batch.ts) and send only the fields that changed. A worker's start, finish and retry
 * wait for Redis, through an outage, as long as that delivery's lease lasts as this client last
 * knew it: a result is not given up while nobody else may run the task.
 */
import { performance } from 'node:perf_hooks';
import {
  workerLostMessage,
  type Delivery,
  type DeliveryRef,
  type Fence,
  type PullRequest,
  type RecoverRequest,
  type RecoverResult,
} from '../../store/contract.js';
import type { WireTask } from '../../model/task.js';
import type { RedisKeys } from './redis-codec.js';
import { socketOf } from './redis-cluster.js';
import { isConnectionError, type RedisClient, type RedisLink } from './redis-link.js';
import { RedisPuller } from './redis-pull.js';
import { asArray, scripts } from './redis-scripts.js';
import { WriteBatch } from './redis-write-batch.js';

/** Stands for the count in the template of the worker-lost message that recover.lua fills in. */
const COUNT_PLACEHOLDER = 987654321;

/** A finish batch of at most this many tasks is announced with their hashes (runFinish). */
const ANNOUNCED_BATCH = 4;

/** A job that ran for less (seconds, by its start and end times) is quick: see lateStarts. */
const QUICK_S = 0.02;

/** Deliveries of one store, for any number of its workers. */
export class RedisDeliveries {
  private readonly puller: RedisPuller;
  private readonly starts: WriteBatch;
  private readonly lateStarts: WriteBatch;
  private readonly finishes: WriteBatch;
  /** Jobs whose last run here took under QUICK_S: their starts wait for their finish a turn. */
  private readonly quick = new Set<string>();

  /** `fallbackWaitMs`: how long a write waits for Redis when its lease is not known here. */
  constructor(
    private readonly keys: RedisKeys,
    private readonly link: RedisLink,
    private readonly fallbackWaitMs: number,
  ) {
    // Each pull script goes behind the writes pending (a worker pulls again at once while it has
    // free slots, and the starts of its last pull must not wait behind that pull).
    this.puller = new RedisPuller(keys, link, () => this.flushWrites());
    // Each batch's arguments start with the app's prefix (the scripts' ARGV[1]).
    const head = [keys.prefix];
    const start = (args: (string | number)[], waitMs: number) => link.run((r) => scripts.start.run(r, [keys.inflight], args), waitMs);
    // A worker runs each job from a setImmediate queued behind its start: a start leaves before
    // its job runs. The start of a quick job leaves a turn late instead, so that the finish of a
    // job that ends at once finds it still here and carries it (one finish script saves both). A
    // store call the job makes sends the starts first (flushWrites); a quick job that turns slow
    // delays its own start by that one run (its finish then says it was not quick).
    this.starts = new WriteBatch(start, false, head);
    this.lateStarts = new WriteBatch(start, true, head);
    // A finish's arguments after the prefix: whether it announces its tasks with their hashes (set per batch).
    this.finishes = new WriteBatch((args, waitMs, tasks) => this.runFinish(args, waitMs, tasks), false, [keys.prefix, '']);
  }

  /**
   * Runs a batch of finishes. A small one (a few tasks: one task at a time, latency counts) is
   * announced by the script itself, each task with its hash, behind a PING sent in the same write:
   * Redis writes its pending replies last-queued first, so with this connection already owed the
   * PING's reply, the waiters' broadcast leaves before the finish's reply to this worker, not
   * after it (finish.lua). A cluster connection has no one socket (the PING could go to another
   * node): there the broadcast leaves after the reply.
   */
  private runFinish(args: (string | number)[], waitMs: number, tasks: number): Promise<unknown> {
    const keys = [this.keys.inflight];
    const announced = tasks <= ANNOUNCED_BATCH;
    if (announced) args[1] = '1';
    const send = (r: RedisClient): Promise<unknown> => {
      // Its answer is not waited for: it only orders Redis's writes.
      if (announced && socketOf(r)) r.ping().catch(() => undefined);
      return scripts.finish.run(r, keys, args);
    };
    // A worker about to park sends it with its wait, in one write (RedisPuller.carry).
    return this.puller.carry(send, waitMs) ?? this.link.run(send, waitMs);
  }

  /** Sends the pending batched writes now, so that a command issued next cannot overtake them. */
  flushWrites(): void {
    this.starts.flushNow();
    this.lateStarts.flushNow();
    this.finishes.flushNow();
  }

  pull(request: PullRequest): Promise<Delivery[]> {
    try {
      checkPull(request);
    } catch (err) {
      return Promise.reject(err);
    }
    // A pull that starts with the blocking wait sends nothing on the command connection: the
    // writes pending leave with the turn (a finish in the same turn may join its start).
    return this.puller.pull(request);
  }

  /**
   * One pull script run, never blocking (a sharded store blocks on every shard at once): the
   * deliveries, ms until the next delayed eta, ms the worker stays interrupted (0: it is not).
   */
  pullStep(request: PullRequest): Promise<[Delivery[], number, number]> {
    return this.puller.pullOnce(request);
  }

  /** How long a write about this delivery may wait for Redis. */
  private waitFor(id: string, token: number): number {
    return this.puller.held.leaseLeft(id, token) ?? this.fallbackWaitMs;
  }

  /**
   * Not async, like finish: one promise per write, and the delivery is released by the batch's
   * answer itself (settle) when the start was refused or failed.
   */
  start(task: WireTask, fence: Fence): Promise<boolean> {
    try {
      checkFence(fence);
    } catch (err) {
      return Promise.reject(err);
    }
    // Encoded now: the caller's task may change once this returns. Only changed fields are sent.
    const fields = this.puller.held.changedFields(task, fence.token);
    const args: (string | number)[] = [task.id, fence.worker, fence.token, fields.length];
    for (const field of fields) args.push(field);
    const id = task.id;
    const token = fence.token;
    const settle = (started: boolean): void => {
      if (!started) this.puller.held.release(id, token);
    };
    const waitMs = this.waitFor(id, token);
    return this.quick.has(task.name) ? this.lateStarts.add(args, waitMs, id, settle) : this.starts.add(args, waitMs, undefined, settle);
  }

  finish(task: WireTask, fence: Fence): Promise<boolean> {
    try {
      checkFence(fence);
    } catch (err) {
      return Promise.reject(err);
    }
    const fields = this.puller.held.changedFields(task, fence.token);
    // The lock id goes along (finish.lua releases it without reading the task): it never changes.
    const lock = JSON.stringify(task.lock_id ?? null);
    // The start of this delivery not sent yet (the job ended in the turn it started): the finish
    // carries it, and its answer is the start's (one script saves both, or neither).
    const start = this.lateStarts.detach(task.id, 1, fence.worker, fence.token);
    if (task.time_started !== null && task.time_ended !== null) {
      if (task.time_ended - task.time_started < QUICK_S) this.quick.add(task.name);
      else this.quick.delete(task.name);
    }
    // A carried start names the task's listing score when the pull read it QUEUED, else '1'.
    const carried = start ? (this.puller.held.queuedAt(task.id, fence.token) ?? '1') : '';
    const args: (string | number)[] = [task.id, fence.worker, fence.token, lock, carried, 0];
    if (start) withStart(args, start.args, fields);
    else for (const field of fields) args.push(field);
    args[5] = args.length - 6;
    const id = task.id;
    const token = fence.token;
    // Whatever the answer, the delivery is over here.
    return this.finishes.add(args, this.waitFor(id, token), undefined, () => this.puller.held.release(id, token), start);
  }

  async retry(task: WireTask, fence: Fence): Promise<boolean> {
    checkFence(fence);
    this.flushWrites();
    const fields = this.puller.held.changedFields(task, fence.token);
    const args = [this.keys.prefix, task.id, fence.worker, fence.token, ...fields];
    try {
      const saved = await this.link.run((r) => scripts.retry.run(r, [this.keys.queue], args), this.waitFor(task.id, fence.token));
      return saved === 1;
    } finally {
      this.puller.held.release(task.id, fence.token);
    }
  }

  async renew(worker: string, deliveries: DeliveryRef[], leaseMs: number): Promise<string[]> {
    if (!deliveries.length) return [];
    checkDuration(leaseMs, 'leaseMs');
    const args: (string | number)[] = [this.keys.prefix, worker, Math.ceil(leaseMs)];
    for (const d of deliveries) checkFence({ worker, token: d.token });
    for (const d of deliveries) args.push(d.id, d.token);
    this.flushWrites();
    const sentAt = performance.now();
    let lost: string[];
    try {
      lost = asArray(await this.link.run((r) => scripts.renew.run(r, [this.keys.inflight], args))).map(String);
    } catch (err) {
      if (isConnectionError(err)) {
        this.link.warnOncePerOutage(
          'renew',
          `lease renewals fail while Redis ${this.link.settings.display} is unavailable; results wait for it as long as their leases last`,
        );
      }
      throw err;
    }
    const gone = new Set(lost);
    this.puller.held.renewed(deliveries.filter((d) => !gone.has(d.id)), sentAt, leaseMs);
    return lost;
  }

  async release(worker: string, deliveries?: DeliveryRef[]): Promise<string[]> {
    this.puller.interrupt(worker);
    const args: (string | number)[] = [this.keys.prefix, worker, deliveries ? 'some' : 'all'];
    for (const d of deliveries ?? []) args.push(d.id, d.token);
    this.flushWrites();
    const back = asArray(await this.link.run((r) => scripts.release.run(r, [this.keys.queue], args))).map(String);
    if (!deliveries) this.puller.forget(worker);
    else for (const d of deliveries) this.puller.held.release(d.id, d.token);
    return back;
  }

  async recover(request: RecoverRequest): Promise<RecoverResult> {
    if (!Number.isInteger(request.maxRedeliveries) || request.maxRedeliveries < 0) {
      throw new TypeError(`maxRedeliveries must be an integer ≥ 0, got ${String(request.maxRedeliveries)}`);
    }
    const args = [
      this.keys.prefix,
      request.maxRedeliveries,
      request.worker ?? '',
      JSON.stringify(workerLostMessage(1)),
      JSON.stringify(workerLostMessage(COUNT_PLACEHOLDER)),
    ];
    if (request.worker) this.puller.forget(request.worker);
    this.flushWrites();
    const [requeued, failed, returned] = asArray(await this.link.run((r) => scripts.recover.run(r, [this.keys.queue], args)));
    const ids = (reply: unknown) => asArray(reply).map(String);
    return { requeued: ids(requeued), failed: ids(failed), returned: ids(returned) };
  }

  /** Ends the parked pulls of `worker` in every process; its pulls take nothing for `haltMs`. */
  interrupt(worker: string, haltMs: number): Promise<void> {
    return this.puller.interruptEverywhere(worker, haltMs);
  }
}

/** Throws a one-line error for a pull request that cannot be served. */
export function checkPull(request: PullRequest): void {
  if (!request || typeof request.worker !== 'string' || !request.worker) throw new TypeError('A pull needs the id of its worker');
  if (!Number.isInteger(request.max) || request.max < 0) throw new TypeError(`A pull's max must be an integer ≥ 0, got ${String(request.max)}`);
  checkDuration(request.leaseMs, 'leaseMs');
  checkDuration(request.waitMs, 'waitMs');
}

function checkFence(fence: Fence): void {
  if (!fence || typeof fence.worker !== 'string' || !fence.worker || !Number.isSafeInteger(fence.token) || fence.token < 1) {
    throw new TypeError(`A fence needs a worker id and a positive integer token, got ${JSON.stringify(fence)}`);
  }
}

/** Throws a one-line error unless `ms` is a finite number ≥ 0. */
export function checkDuration(ms: number, what: string): void {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new TypeError(`${what} must be a duration in ms ≥ 0, got ${String(ms)}`);
}

/**
 * Appends to `out` the fields a finish writes when it carries its start (`startArgs`: the start's
 * script arguments, its fields from the 5th on): the start's, but for those the finish sets again,
 * then the finish's.
 */
function withStart(out: (string | number)[], startArgs: (string | number)[], fields: string[]): void {
  // A few fields each: a scan beats a set.
  for (let k = 4; k < startArgs.length; k += 2) {
    const field = startArgs[k] as string;
    let again = false;
    for (let f = 0; f < fields.length && !again; f += 2) again = fields[f] === field;
    if (!again) out.push(field, startArgs[k + 1] as string);
  }
  for (const field of fields) out.push(field);
}
