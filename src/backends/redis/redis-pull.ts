/**
 * The pull side of the redis:// store. A pull is one run of pull.lua (move due delayed tasks, pop
 * ready ones into the worker's in-flight set, each with a new fencing token). When nothing is
 * ready it blocks with BLPOP on its nudge list and the app's wake-up list, on a connection of its
 * own: no polling, and it wakes early for the next delayed task's eta (the script answers the time
 * left until it; redis-eta-alarm.ts ends the wait then). The pull script that follows a wait goes with
 * the BLPOP, queued behind it: Redis runs it as soon as the wait ends (no round trip after it);
 * a finish made while the worker is about to park goes ahead of both, in the same write (carry).
 *
 * The puller remembers each delivery it handed out (redis-held.ts): writes send only the fields
 * that changed, and wait for Redis up to the lease as last known.
 *
 * A pull whose reply is lost with the connection leaves tasks owned by a worker that never got
 * them: after such a failure its next pull asks the script to put the unknown ones back, and so
 * does a pull the client sends again by itself (a Cluster client, resendOf). A pull that found the
 * queue drained is remembered with the next delayed task's eta: the worker's next pull goes
 * straight to the blocking wait. Every queue, retry and recovery pushes a wake-up token (_lib.lua:
 * wake), and only a pull that found the queue empty clears them: a stale token costs one pull.
 */
import { performance } from 'node:perf_hooks';
import { EXPIRED_MESSAGE, type Delivery, type PullRequest } from '../../store/contract.js';
import { QUEUED } from '../../model/states.js';
import type { RedisKeys } from './redis-codec.js';
import { decodeStored } from './redis-decode.js';
import { HeldDeliveries } from './redis-held.js';
import { socketOf } from './redis-cluster.js';
import { isConnectionError, type RedisClient, type RedisLink } from './redis-link.js';
import { asArray, scripts } from './redis-scripts.js';
import { Deadlines } from '../../infra/deadlines.js';
import { ETA_BACKSTOP_MS, wakeAtEta } from './redis-eta-alarm.js';

/** Pulls of one store, for any number of its workers. */
export class RedisPuller {
  /** The deliveries it handed out, with their tokens, leases and stored values. */
  readonly held = new HeldDeliveries();
  /** Workers whose last pull failed on the connection: the next pull finds tasks it lost. */
  private readonly resync = new Set<string>();
  /** Workers whose parked pulls must end now, with the wake-ups of the pulls parked. */
  private readonly interrupted = new Set<string>();
  private readonly parked = new Map<string, Set<() => void>>();
  /** Workers whose last pull found the queue drained: performance.now() by which the next delayed task is due. */
  private readonly drained = new Map<string, number>();
  /** Pulls about to park (beforeParking), each with what makes it park at once. */
  private readonly aboutToPark = new Map<string, () => void>();
  /** Writes the pull about to park sends ahead of its wait (carry). */
  private carried: Carried[] = [];
  /** The blocking waits' guards (blockThenPull). */
  private readonly guards = new Deadlines();

  /** `beforeScript`: runs before each pull script is sent (the store sends its pending writes first). */
  constructor(
    private readonly keys: RedisKeys,
    private readonly link: RedisLink,
    private readonly beforeScript: () => void = () => undefined,
  ) {}

  /**
   * True when the worker's next pull (this `request`) starts with the blocking wait: its last pull
   * found the queue drained. Nothing is sent on the command connection before that wait.
   */
  blocksFirst(request: PullRequest): boolean {
    const due = this.drained.get(request.worker);
    return due !== undefined && request.waitMs > 0 && request.max > 0 && !this.resync.has(request.worker) && due > performance.now();
  }

  /**
   * One script run moves due delayed tasks and pops ready ones. When none is ready it blocks on the
   * app's wake-up list (pushed by every queue) until `waitMs` ends or the next delayed task is due;
   * the pull script that follows a wait is sent with it (blockThenPull).
   */
  async pull(request: PullRequest): Promise<Delivery[]> {
    if (request.max <= 0 || this.link.isClosed) return [];
    const { worker } = request;
    this.interrupted.delete(worker);
    const deadline = performance.now() + request.waitMs;
    let step: PullStep;
    if (this.blocksFirst(request)) {
      const due = this.drained.get(worker) as number;
      this.drained.delete(worker);
      // Nothing to pull now: the wait may park a couple of turns later, once the jobs the last
      // pull launched ran and their writes left (a task queued meanwhile leaves its wake-up token);
      // a finish made meanwhile goes with the wait, which then leaves at once (carry).
      await this.beforeParking(worker);
      if (this.link.isClosed || this.interrupted.has(worker)) {
        this.sendCarried(null);
        return [];
      }
      const untilDue = due - performance.now();
      const woken = await this.blockThenPull(request, Math.max(0, Math.min(request.waitMs, untilDue)), false, untilDue < request.waitMs);
      if (woken === null) return [];
      step = woken;
    } else {
      this.drained.delete(worker);
      step = await this.pullNow(request);
    }
    for (;;) {
      // Tasks a pull brought are the caller's even when the worker was interrupted meanwhile.
      const [deliveries, nextInMs, haltedMs, ownWake] = step;
      if (deliveries.length || request.waitMs <= 0 || ownWake) return deliveries;
      if (this.link.isClosed || this.interrupted.has(worker)) return [];
      const left = deadline - performance.now();
      if (left <= 0) return [];
      // An interrupted worker waits on its own key only: the app's wake-ups are for the others.
      const wait = haltedMs > 0 ? Math.min(left, haltedMs) : Math.min(left, nextInMs);
      const atEta = haltedMs <= 0 && nextInMs < left;
      const woken = wait > 0 ? await this.blockThenPull(request, wait, haltedMs > 0, atEta) : await this.pullNow(request);
      if (woken === null) return [];
      step = woken;
    }
  }

  /**
   * One run of pull.lua: the deliveries now owned by the worker, ms until the next delayed eta,
   * and ms the worker stays interrupted (0: it is not). Never parks: its caller (a sharded store's
   * puller) waits on the app's wake-up lists only.
   */
  async pullOnce(request: PullRequest): Promise<[Delivery[], number, number]> {
    const [deliveries, nextInMs, haltedMs] = await this.pullNow(request, false);
    return [deliveries, nextInMs, haltedMs];
  }

  /** Resolves two turns from now, or as soon as a write is carried (carry). */
  private beforeParking(worker: string): Promise<void> {
    return new Promise((resolve) => {
      let turns = 0;
      const go = (): void => {
        clearImmediate(timer);
        if (this.aboutToPark.get(worker) === go) this.aboutToPark.delete(worker);
        resolve();
      };
      const turn = (): void => {
        if (++turns < 2) timer = setImmediate(turn);
        else go();
      };
      let timer = setImmediate(turn);
      this.aboutToPark.set(worker, go);
    });
  }

  /**
   * Hands a write to a pull about to park: it leaves ahead of the wait, in the same socket write
   * on the blocking connection (one write and one read of Redis where there were two), and the
   * wait leaves at once. Null when no pull is about to park or that connection cannot take it now:
   * the caller sends it. A carried write is retried on the command connection like every write.
   */
  carry<T>(send: (conn: RedisClient) => Promise<T>, waitMs: number): Promise<T> | null {
    const [go] = this.aboutToPark.values();
    // A wait parked on that connection would hold the write back until it ends.
    if (!go || this.link.isClosed || this.parked.size) return null;
    const conn = this.link.blocking;
    if (conn.status !== 'ready' || !socketOf(conn)) return null;
    return new Promise<T>((resolve, reject) => {
      this.carried.push({ send, waitMs, resolve: resolve as (value: unknown) => void, reject });
      go();
    });
  }

  /** Sends the carried writes: on `conn`, the blocking connection, else each on its own. */
  private sendCarried(conn: RedisClient | null): void {
    if (!this.carried.length) return;
    const carried = this.carried;
    this.carried = [];
    for (const { send, waitMs, resolve, reject } of carried) this.link.run(send, waitMs, conn ?? undefined).then(resolve, reject);
  }

  /** pullOnce, as a PullStep. */
  private pullNow(request: PullRequest, park = request.waitMs > 0): Promise<PullStep> {
    const args = this.pullArgs(request, park);
    this.beforeScript();
    const sentAt = performance.now();
    const again = this.resendOf(request, park);
    return this.sent(request, this.link.run((r) => scripts.pull.run(r, [this.keys.queue], args, again)), sentAt);
  }

  /**
   * A pull sent again (redis-scripts.ts: Resend) goes as a resync: Redis may have run it, its reply
   * lost, and the first run's tasks would stay owned by a worker that never got them (its lease,
   * renewed while it runs others, keeping them from recovery). They go back to the queue first.
   */
  private resendOf(request: PullRequest, park: boolean): () => (string | number)[] {
    return () => this.pullArgs(request, park, true);
  }

  /**
   * The arguments of a pull script run; `park`: a drained queue parks the worker (_lib.lua: wake);
   * `resync`: the tasks it holds without knowing go back first (also when the worker's last pull
   * failed on the connection).
   */
  private pullArgs(request: PullRequest, park: boolean, resent = false): (string | number)[] {
    const { worker } = request;
    const resync = resent || this.resync.has(worker);
    const parkMs = park ? Math.ceil(request.waitMs) + PARK_MARGIN_MS : '';
    return [this.keys.prefix, request.max, Math.ceil(request.leaseMs), worker, resync ? '1' : '', EXPIRED_JSON, parkMs, ...(resync ? this.held.heldBy(worker) : [])];
  }

  /** The deliveries of a pull script run sent at `sentAt` (performance.now()), once it answers. */
  private async sent(request: PullRequest, running: Promise<unknown>, sentAt: number): Promise<PullStep> {
    const { worker } = request;
    const resync = this.resync.has(worker);
    let reply: unknown[];
    try {
      reply = asArray(await running);
    } catch (err) {
      // The script may have run with its reply lost: tasks owned here that nobody received.
      if (isConnectionError(err)) this.resync.add(worker);
      throw err;
    }
    if (typeof reply[0] === 'string' && reply[0].startsWith('halt:')) return [[], Infinity, Number(reply[0].slice(5)), false];
    if (resync) this.resync.delete(worker);
    const deliveries: Delivery[] = [];
    for (let i = 1; i + 2 < reply.length; i += 3) {
      const id = String(reply[i + 1]);
      const stored = decodeStored(JSON.parse(String(reply[i + 2])), id);
      if (!stored) continue;
      const token = Number(reply[i]);
      const queuedAt = stored.task.status === QUEUED ? stored.listed : undefined;
      this.held.add(id, { worker, token, leaseEnd: sentAt + request.leaseMs, encoded: stored.encoded, values: stored.values, queuedAt });
      deliveries.push({ task: stored.task, token });
    }
    const drained = reply[0] !== '' && reply[0] !== undefined;
    const nextInMs = drained && reply[0] !== 'e' ? Number(reply[0]) : Infinity;
    if (drained && deliveries.length) this.drained.set(worker, sentAt + nextInMs);
    return [deliveries, nextInMs, 0, false];
  }

  /** The worker holds nothing any more (recovered or released in full). */
  forget(worker: string): void {
    this.held.forget(worker);
    this.resync.delete(worker);
    this.drained.delete(worker);
  }

  /** Ends the parked pulls of `worker` in this process at once (they answer []). */
  interrupt(worker: string): void {
    this.interrupted.add(worker);
    for (const wake of this.parked.get(worker) ?? []) wake();
  }

  /**
   * Ends the parked pulls of `worker` in any process: for a moment its pulls take nothing
   * (pull.lua sees its halt key) and a token on its own wake-up list ends a BLPOP parked on it.
   */
  async interruptEverywhere(worker: string, haltMs: number): Promise<void> {
    this.interrupt(worker);
    const k = this.keys;
    await this.link.run((r) =>
      r.multi().set(k.halt(worker), '1', 'PX', haltMs).lpush(k.wake(worker), '1').pexpire(k.wake(worker), haltMs).zrem(k.parked, worker).exec(),
    );
  }

  /**
   * Waits at most `ms` for a wake-up token (the app's or, `ownOnly`, the worker's own list only)
   * on the blocking connection, then runs a pull script: both sent at once, the script queued
   * behind the BLPOP on that connection, so the pull costs no round trip of its own once woken.
   * The pull's answer marks a wait ended by the worker's own key (TaskStore.interrupt). Null when
   * a local interrupt (or the store closing) ended the wait first: what that pull still takes is
   * handed back to the queue. `atEta`: the wait ends when a delayed task is due (redis-eta-alarm.ts).
   */
  private async blockThenPull(request: PullRequest, ms: number, ownOnly: boolean, atEta = false): Promise<PullStep | null> {
    const { worker } = request;
    const conn = this.link.blocking;
    let wake = (): void => undefined;
    const interrupted = new Promise<null>((resolve) => (wake = () => resolve(null)));
    let parked = this.parked.get(worker);
    if (!parked) this.parked.set(worker, (parked = new Set()));
    parked.add(wake);
    try {
      await this.link.ready(conn);
      if (this.interrupted.has(worker)) return null;
      // A connection that dies silently would leave BLPOP waiting forever: cut it after a margin
      // (a deadline on the puller's one timer, infra/deadlines.ts: no Node timer per wait).
      const guard = this.guards.add(ms + 5000, () => conn.disconnect(true), false);
      const alarm = atEta && !ownOnly ? wakeAtEta(this.link, this.keys, this.guards, worker, ms) : null;
      try {
        const own = this.keys.wake(worker);
        // Its nudges first: a worker parked last is woken on its own list (_lib.lua: wake).
        const keys = ownOnly ? [own] : [this.keys.nudge(worker), this.keys.wakeup, own];
        const args = this.pullArgs(request, true);
        const sentAt = performance.now();
        // Both in one write (one syscall instead of two) where the connection's socket is at hand.
        const socket = socketOf(conn);
        socket?.cork();
        let popped: Promise<[string, string] | null>;
        let step: Promise<PullStep>;
        try {
          this.sendCarried(conn);
          popped = conn.blpop(...keys, Math.max(0.01, (alarm ? ms + ETA_BACKSTOP_MS : ms) / 1000).toFixed(3));
          step = this.sent(request, scripts.pull.run(conn, [this.keys.queue], args, this.resendOf(request, true)), sentAt);
        } finally {
          socket?.uncork();
        }
        // Either fails with the connection: the step's failure is the one reported.
        popped.catch(() => undefined);
        const both = Promise.all([popped, step]).then(([woke, got]): PullStep => {
          got[3] = woke?.[0] === own;
          return got;
        });
        const first = await Promise.race([both, interrupted]);
        if (first === null) {
          both.then(([deliveries]) => this.handBack(worker, deliveries), () => undefined);
          return null;
        }
        return first;
      } finally {
        guard.cancel();
        alarm?.cancel();
      }
    } catch (err) {
      if (this.link.isClosed) return null;
      throw isConnectionError(err) ? this.link.unavailable(err) : err;
    } finally {
      // What the wait did not send (it ended first) leaves on its own.
      this.sendCarried(null);
      parked.delete(wake);
      if (!parked.size) this.parked.delete(worker);
    }
  }

  /** Tasks a pull took for a worker that no longer waited for them go back to the queue. */
  private handBack(worker: string, deliveries: Delivery[]): void {
    if (!deliveries.length) return;
    const args: (string | number)[] = [this.keys.prefix, worker, 'some'];
    for (const { task, token } of deliveries) args.push(task.id, token);
    const back = this.link.isClosed ? Promise.resolve() : this.link.run((r) => scripts.release.run(r, [this.keys.queue], args));
    // Unanswered, they stay in flight until their leases end and recovery requeues them.
    void back.catch(() => undefined).then(() => {
      for (const { task, token } of deliveries) this.held.release(task.id, token);
    });
  }
}

/** A write carried by a wait (carry), answered as its own run would be. */
interface Carried {
  send: (conn: RedisClient) => Promise<unknown>;
  waitMs: number;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** How long a parking outlasts its wait (ms): the wait starts a turn or two after the pull. */
const PARK_MARGIN_MS = 1000;

/** The expired result of pull.lua's argument 6, encoded once. */
const EXPIRED_JSON = JSON.stringify(EXPIRED_MESSAGE);

/**
 * What one pull script run brought: its deliveries, ms until the next delayed eta, ms the worker
 * stays interrupted (0: it is not), and whether the wait before it ended on the worker's own key.
 */
type PullStep = [Delivery[], number, number, boolean];
