/**
 * Pulls of a sharded queue: every shard is a RedisStore whose pull script runs alone (pullStep);
 * this puller spreads a pull over the shards and blocks on all of them at once.
 *
 * Fairness: a pull of `max` tasks asks the shards in a rotating order (each pull starts at the
 * next shard), as many at once as take about 4 tasks each, each for its share of `max`; then
 * every other shard, and again those that filled their share, for what is still missing. A shard
 * that answered fewer than asked is empty for now.
 *
 * Blocking: when no shard has a task, the puller waits with one BLPOP per shard (on the shard's
 * wake-up list and the worker's own), each on the shard's blocking connection. A BLPOP that is
 * still waiting when another shard woke the pull stays parked and is reused by the next wait: a
 * wake-up token it takes is never lost, and nothing polls. A shard whose node is down is skipped
 * (the pull answers what the others have, and waits at most a second before asking it again).
 */
import { performance } from 'node:perf_hooks';
import type { Delivery, PullRequest } from '../../store/contract.js';
import { isConnectionError, type RedisLink } from './redis-link.js';
import type { RedisStore } from './redis.js';

/** Tasks a pull asks of one shard at least in its first round (fewer script runs per task). */
const PER_SHARD = 4;

/** How long a pull waits before asking a failing shard again (ms). */
const FAILED_SHARD_RETRY_MS = 1000;

/** One BLPOP waiting on a shard for a worker. */
interface Parked {
  done: boolean;
  /** The key a token was taken from (null: timed out or failed). */
  popped: string | null;
  error: unknown;
}

/** Pulls of one sharded store, for any number of its workers. */
export class ShardedPuller {
  private turn = 0;
  private readonly interrupted = new Set<string>();
  /** Wake-ups of the waits in progress, by worker. */
  private readonly waiting = new Map<string, Set<() => void>>();
  /** BLPOPs by worker and shard. */
  private readonly parked = new Map<string, Map<number, Parked>>();

  constructor(
    private readonly shards: readonly RedisStore[],
    private readonly link: RedisLink,
  ) {}

  async pull(request: PullRequest): Promise<Delivery[]> {
    if (request.max <= 0 || this.link.isClosed) return [];
    this.interrupted.delete(request.worker);
    const deadline = performance.now() + request.waitMs;
    for (;;) {
      const [deliveries, nextInMs, haltedMs] = await this.pass(request);
      if (deliveries.length || request.waitMs <= 0) return deliveries;
      const left = deadline - performance.now();
      if (left <= 0 || this.interrupted.has(request.worker)) return [];
      const wait = haltedMs > 0 ? Math.min(left, haltedMs) : Math.min(left, nextInMs);
      if (wait > 0 && (await this.block(request.worker, wait, haltedMs > 0))) return [];
      if (this.link.isClosed || this.interrupted.has(request.worker)) return [];
    }
  }

  /**
   * Asks the shards, in rotation, for their share of `max`, again while some filled their share.
   * Answers the deliveries, ms until the next delayed eta on any shard, and ms the worker stays
   * interrupted (0: it is not).
   */
  private async pass(request: PullRequest): Promise<[Delivery[], number, number]> {
    const k = this.shards.length;
    const first = this.turn++ % k;
    let candidates = Array.from({ length: k }, (_, j) => (first + j) % k);
    let remaining = request.max;
    const out: Delivery[] = [];
    let next = Infinity;
    let halted = 0;
    let answered = 0;
    let failure: unknown = null;
    let round = 0;
    while (remaining > 0 && candidates.length && !halted) {
      // The first round asks as few shards as take about PER_SHARD tasks each (a small pull asks
      // one shard: each script run costs the same whatever it takes); later rounds ask every
      // shard left at once, so that finding every shard empty takes two round trips, not K.
      const width = round++ === 0 ? Math.min(candidates.length, Math.max(1, Math.floor(remaining / PER_SHARD))) : candidates.length;
      const base = Math.floor(remaining / width);
      const extra = remaining % width;
      const asked = candidates.slice(0, width).map((shard, j) => ({ shard, max: base + (j < extra ? 1 : 0) })).filter((a) => a.max > 0);
      const results = await Promise.allSettled(asked.map((a) => this.shards[a.shard]!.pullStep({ ...request, max: a.max })));
      const again: number[] = [];
      results.forEach((result, j) => {
        const a = asked[j]!;
        if (result.status === 'rejected') {
          failure ??= result.reason;
          return;
        }
        answered += 1;
        const [deliveries, nextInMs, haltedMs] = result.value;
        out.push(...deliveries);
        remaining -= deliveries.length;
        next = Math.min(next, nextInMs);
        halted = Math.max(halted, haltedMs);
        if (deliveries.length >= a.max) again.push(a.shard);
      });
      const askedSet = new Set(asked.map((a) => a.shard));
      candidates = [...again, ...candidates.filter((s) => !askedSet.has(s))];
    }
    if (failure !== null && !out.length) {
      // Nothing from the shards that answered: fail when none did, else ask the others again soon.
      if (!answered) throw failure;
      next = Math.min(next, FAILED_SHARD_RETRY_MS);
    }
    return [out, next, halted];
  }

  /**
   * Waits at most `ms` for a wake-up token on any shard (or, `ownOnly`, on the worker's own
   * lists only) or a local interrupt. True when the worker was interrupted.
   */
  private async block(worker: string, ms: number, ownOnly: boolean): Promise<boolean> {
    let mine = this.parked.get(worker);
    if (!mine) this.parked.set(worker, (mine = new Map()));
    let wake = (): void => undefined;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    let waits = this.waiting.get(worker);
    if (!waits) this.waiting.set(worker, (waits = new Set()));
    waits.add(wake);
    let timer: NodeJS.Timeout | undefined;
    try {
      for (let shard = 0; shard < this.shards.length; shard++) {
        if (!mine.has(shard)) mine.set(shard, this.park(worker, shard, ms, ownOnly));
      }
      if (![...mine.values()].some((p) => p.done)) {
        await Promise.race([woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
      }
      let interrupted = this.interrupted.has(worker);
      let failure: unknown = null;
      for (const [shard, p] of [...mine]) {
        if (!p.done) continue;
        mine.delete(shard);
        if (p.popped === this.shards[shard]!.keys.wake(worker)) interrupted = true;
        if (p.error !== null && !this.link.isClosed) failure ??= p.error;
      }
      if (this.link.isClosed) return true;
      // A shard's failed wait: the next pass asks it (and fails, or skips it) instead of spinning here.
      if (failure !== null && !isConnectionError(failure)) throw failure;
      return interrupted;
    } finally {
      clearTimeout(timer);
      waits.delete(wake);
      if (!waits.size) this.waiting.delete(worker);
    }
  }

  /** Starts a BLPOP of `worker` on `shard`, which wakes the worker's waits when it ends. */
  private park(worker: string, shard: number, ms: number, ownOnly: boolean): Parked {
    const parked: Parked = { done: false, popped: null, error: null };
    const keys = this.shards[shard]!.keys;
    const conn = this.link.blockingFor(shard);
    const lists = ownOnly ? [keys.wake(worker)] : [keys.wakeup, keys.wake(worker)];
    const finish = () => {
      parked.done = true;
      for (const wake of this.waiting.get(worker) ?? []) wake();
    };
    void (async () => {
      // A connection that dies silently would leave BLPOP waiting forever: cut it after a margin.
      let guard: NodeJS.Timeout | undefined;
      try {
        await this.link.ready(conn);
        guard = setTimeout(() => conn.disconnect(true), ms + 5000);
        const popped = await conn.blpop(...lists, Math.max(0.01, ms / 1000).toFixed(3));
        parked.popped = popped?.[0] ?? null;
      } catch (err) {
        parked.error = err;
        // Not at once again: the next pass finds out whether the shard is back.
        if (!this.link.isClosed) await new Promise((resolve) => setTimeout(resolve, Math.min(ms, FAILED_SHARD_RETRY_MS)));
      } finally {
        clearTimeout(guard);
        finish();
      }
    })();
    return parked;
  }

  /** Ends the waits of `worker` in this process at once (its pull answers []). */
  interrupt(worker: string): void {
    this.interrupted.add(worker);
    for (const wake of this.waiting.get(worker) ?? []) wake();
  }

  /** The worker stopped: its finished BLPOPs are forgotten (those still waiting end by themselves). */
  forget(worker: string): void {
    const mine = this.parked.get(worker);
    if (!mine) return;
    for (const [shard, p] of [...mine]) if (p.done) mine.delete(shard);
    if (!mine.size) this.parked.delete(worker);
  }
}
