/**
 * The pull side of the redis:// store. A pull is one run of pull.lua (move due delayed tasks, pop
 * ready ones into the worker's in-flight set, each with a new fencing token). When nothing is
 * ready it blocks with BLPOP on the app's wake-up list, which every queue pushes to, on a
 * connection of its own: no polling, and it wakes early for the next delayed task's eta (the
 * script answers the time left until it, a duration on the store's clock).
 *
 * The puller remembers each delivery it handed out: its token, the field values last stored (so
 * writes send only what changed, encoding only values that were replaced), and until when its lease lasts as this client last knew it (a
 * pull or a successful renewal, measured on this process's monotonic clock from before the
 * request was sent). A worker's writes wait for Redis up to that remaining lease.
 *
 * A pull whose reply is lost with the connection leaves tasks owned by a worker that never got
 * them: after such a failure its next pull asks the script to put the unknown ones back.
 *
 * A pull that found the queue drained (it got fewer tasks than asked) is remembered with the next
 * delayed task's eta: the worker's next pull goes straight to the blocking wait instead of running
 * an empty pull first. Every queue, retry and recovery pushes a wake-up token, and only a pull
 * that found the queue empty clears them, so a task queued since is not missed; a stale token
 * costs one spurious pull.
 */
import { performance } from 'node:perf_hooks';
import { EXPIRED_MESSAGE, type Delivery, type PullRequest } from '../../store/contract.js';
import type { WireTask } from '../../model/task.js';
import { decodeStored, encodeChanged, encodeValues, WIRE_KEYS, type RedisKeys } from './redis-codec.js';
import { isConnectionError, type RedisLink } from './redis-link.js';
import { scripts } from './redis-scripts.js';

/** What the puller knows of one delivery it handed out. */
interface Held {
  worker: string;
  token: number;
  /** performance.now() by which the lease ends, at the latest, as last known. */
  leaseEnd: number;
  /** Stored field values (encoded, in WIRE_KEYS order), as last written or read... */
  encoded: string[];
  /** ...and the values they encode (a value still the same needs no encoding to compare). */
  values: unknown[];
}

/** Pulls of one store, for any number of its workers. */
export class RedisPuller {
  /** Deliveries by task id. */
  private readonly held = new Map<string, Held>();
  /** Ids each worker holds. */
  private readonly byWorker = new Map<string, Set<string>>();
  /** Workers whose last pull failed on the connection: the next pull finds tasks it lost. */
  private readonly resync = new Set<string>();
  /** Workers whose parked pulls must end now, with the wake-ups of the pulls parked. */
  private readonly interrupted = new Set<string>();
  private readonly parked = new Map<string, Set<() => void>>();
  /** Workers whose last pull found the queue drained: performance.now() by which the next delayed task is due. */
  private readonly drained = new Map<string, number>();

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
   * app's wake-up list (pushed by every queue) until `waitMs` ends or the next delayed task is due.
   */
  async pull(request: PullRequest): Promise<Delivery[]> {
    if (request.max <= 0 || this.link.isClosed) return [];
    this.interrupted.delete(request.worker);
    const deadline = performance.now() + request.waitMs;
    if (this.blocksFirst(request)) {
      const due = this.drained.get(request.worker) as number;
      this.drained.delete(request.worker);
      if (await this.block(request.worker, Math.min(request.waitMs, due - performance.now()))) return [];
      if (this.link.isClosed || this.interrupted.has(request.worker)) return [];
    }
    this.drained.delete(request.worker);
    for (;;) {
      const [deliveries, nextInMs, haltedMs] = await this.pullOnce(request);
      if (deliveries.length || request.waitMs <= 0) return deliveries;
      const left = deadline - performance.now();
      if (left <= 0) return [];
      if (this.interrupted.has(request.worker)) return [];
      // An interrupted worker waits on its own key only: the app's wake-ups are for the others.
      const wait = haltedMs > 0 ? Math.min(left, haltedMs) : Math.min(left, nextInMs);
      if (wait > 0 && (await this.block(request.worker, wait, haltedMs > 0))) return [];
      if (this.link.isClosed || this.interrupted.has(request.worker)) return [];
    }
  }

  /**
   * One run of pull.lua: the deliveries now owned by the worker, ms until the next delayed eta,
   * and ms the worker stays interrupted (0: it is not).
   */
  async pullOnce(request: PullRequest): Promise<[Delivery[], number, number]> {
    const k = this.keys;
    const { worker } = request;
    let mine = this.byWorker.get(worker);
    if (!mine) this.byWorker.set(worker, (mine = new Set()));
    const resync = this.resync.has(worker);
    const args = [k.prefix, request.max, Math.ceil(request.leaseMs), worker, resync ? '1' : '', JSON.stringify(EXPIRED_MESSAGE), ...(resync ? mine : [])];
    this.beforeScript();
    const sentAt = performance.now();
    let reply: unknown[];
    try {
      reply = asArray(await this.link.run((r) => scripts.pull.run(r, [k.queue], args)));
    } catch (err) {
      // The script may have run with its reply lost: tasks owned here that nobody received.
      if (isConnectionError(err)) this.resync.add(worker);
      throw err;
    }
    if (typeof reply[0] === 'string' && reply[0].startsWith('halt:')) return [[], Infinity, Number(reply[0].slice(5))];
    if (resync) this.resync.delete(worker);
    const deliveries: Delivery[] = [];
    for (let i = 1; i + 2 < reply.length; i += 3) {
      const id = String(reply[i + 1]);
      const stored = decodeStored(reply[i + 2], id);
      if (!stored) continue;
      const token = Number(reply[i]);
      mine.add(id);
      this.held.set(id, { worker, token, leaseEnd: sentAt + request.leaseMs, encoded: stored.encoded, values: stored.values });
      deliveries.push({ task: stored.task, token });
    }
    const drained = reply[0] !== '' && reply[0] !== undefined;
    const nextInMs = drained && reply[0] !== 'e' ? Number(reply[0]) : Infinity;
    if (drained && deliveries.length) this.drained.set(worker, sentAt + nextInMs);
    return [deliveries, nextInMs, 0];
  }

  /** The worker is done with a delivery (whatever the outcome): a resync may hand it back. */
  release(id: string, token: number): void {
    const held = this.held.get(id);
    if (!held || held.token !== token) return;
    this.held.delete(id);
    this.byWorker.get(held.worker)?.delete(id);
  }

  /** Leases renewed: `sentAt` is performance.now() from before the renewal was sent. */
  renewed(ids: readonly { id: string; token: number }[], sentAt: number, leaseMs: number): void {
    for (const { id, token } of ids) {
      const held = this.held.get(id);
      if (held && held.token === token) held.leaseEnd = Math.max(held.leaseEnd, sentAt + leaseMs);
    }
  }

  /** How long (ms) the lease of this delivery still lasts as last known; null when unknown here. */
  leaseLeft(id: string, token: number): number | null {
    const held = this.held.get(id);
    if (!held || held.token !== token) return null;
    return Math.max(0, held.leaseEnd - performance.now());
  }

  /**
   * The field/value pairs of `task` to write for its delivery: those that differ from what is
   * stored, when this puller handed that delivery out, else all of them. Remembers the new values.
   * Only the holder of the current delivery writes a pulled task's wire fields (progress has a
   * field of its own), and every write is fenced, so what was stored stays known until released.
   */
  changedFields(task: WireTask, token: number): string[] {
    const held = this.held.get(task.id);
    const known = held && held.token === token ? held : null;
    const values = known ? encodeChanged(task, known) : encodeValues(task);
    const before = known?.encoded;
    if (known) {
      known.encoded = values;
      known.values = WIRE_KEYS.map((key) => task[key] ?? null);
    }
    const out: string[] = [];
    values.forEach((value, i) => {
      if (!before || before[i] !== value) out.push(WIRE_KEYS[i] as string, value);
    });
    return out;
  }

  /** The worker holds nothing any more (recovered or released in full). */
  forget(worker: string): void {
    for (const id of this.byWorker.get(worker) ?? []) this.held.delete(id);
    this.byWorker.delete(worker);
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
      r.multi().set(k.halt(worker), '1', 'PX', haltMs).lpush(k.wake(worker), '1').pexpire(k.wake(worker), haltMs).exec(),
    );
  }

  /**
   * Waits at most `ms` for a wake-up token (the app's or, `ownOnly`, the worker's own list only),
   * on the blocking connection, or a local interrupt. True when the worker was interrupted.
   */
  private async block(worker: string, ms: number, ownOnly = false): Promise<boolean> {
    const conn = this.link.blocking;
    let wake = (): void => undefined;
    const interrupted = new Promise<void>((resolve) => (wake = resolve));
    let parked = this.parked.get(worker);
    if (!parked) this.parked.set(worker, (parked = new Set()));
    parked.add(wake);
    try {
      await this.link.ready(conn);
      // A connection that dies silently would leave BLPOP waiting forever: cut it after a margin.
      const guard = setTimeout(() => conn.disconnect(true), ms + 5000);
      try {
        const keys = ownOnly ? [this.keys.wake(worker)] : [this.keys.wakeup, this.keys.wake(worker)];
        const popped = await Promise.race([conn.blpop(...keys, Math.max(0.01, ms / 1000).toFixed(3)), interrupted.then(() => null)]);
        return this.interrupted.has(worker) || popped?.[0] === this.keys.wake(worker);
      } finally {
        clearTimeout(guard);
      }
    } catch (err) {
      if (this.link.isClosed) return true;
      throw isConnectionError(err) ? this.link.unavailable(err) : err;
    } finally {
      parked.delete(wake);
      if (!parked.size) this.parked.delete(worker);
    }
  }
}

function asArray(reply: unknown): unknown[] {
  return Array.isArray(reply) ? reply : [];
}
