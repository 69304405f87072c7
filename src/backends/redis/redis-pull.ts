/**
 * The pull side of the redis:// store. A pull is one run of pull.lua (move due delayed tasks, pop
 * ready ones into the worker's in-flight set). When nothing is ready it blocks with BLPOP on the
 * app's wake-up list, which every queue pushes to, on a connection of its own: no polling, and
 * it wakes early for the next delayed task's eta.
 *
 * A pull whose reply is lost with the connection leaves tasks owned by a worker that never got
 * them. The puller remembers which tasks each worker holds; after such a failure its next pull
 * asks the script to put the unknown ones back in the queue, so they run without waiting for
 * their lease to expire.
 */
import type { PullRequest } from '../../store/contract.js';
import type { WireTask } from '../../model/task.js';
import { decodeTask, encodeValues, WIRE_KEYS, type RedisKeys } from './redis-codec.js';
import { isConnectionError, type RedisLink } from './redis-link.js';
import { scripts } from './redis-scripts.js';

/** Pulls of one store, for any number of its workers. */
export class RedisPuller {
  /** Ids each worker received from a pull and has not finished yet. */
  private readonly held = new Map<string, Set<string>>();
  /**
   * The stored field values (encoded, in WIRE_KEYS order) of each held task, as last written by or
   * read for its worker: a start or finish then writes only the fields that changed.
   */
  private readonly stored = new Map<string, string[]>();
  /** Workers whose last pull failed on the connection: the next pull finds tasks it lost. */
  private readonly resync = new Set<string>();

  constructor(
    private readonly keys: RedisKeys,
    private readonly link: RedisLink,
  ) {}

  /**
   * One script run moves due delayed tasks and pops ready ones. When none is ready it blocks on the
   * app's wake-up list (pushed by every queue) until `waitMs` ends or the next delayed task is due.
   */
  async pull(request: PullRequest): Promise<WireTask[]> {
    if (request.max <= 0 || this.link.isClosed) return [];
    const deadline = Date.now() + request.waitMs;
    for (;;) {
      const [tasks, nextEta] = await this.pullOnce(request);
      if (tasks.length || request.waitMs <= 0) return tasks;
      const now = Date.now();
      if (now >= deadline) return [];
      const until = Math.min(deadline, nextEta);
      if (until > now) await this.block(until - now);
      if (this.link.isClosed) return [];
    }
  }

  /** One run of pull.lua: the tasks now owned by the worker, and the next delayed eta (ms). */
  private async pullOnce(request: PullRequest): Promise<[WireTask[], number]> {
    const k = this.keys;
    const { worker } = request;
    let held = this.held.get(worker);
    if (!held) this.held.set(worker, (held = new Set()));
    const resync = this.resync.has(worker);
    const now = Date.now();
    const args = [k.task, now, request.max, now + request.leaseMs, worker, resync ? '1' : '', ...(resync ? held : [])];
    let reply: unknown[];
    try {
      reply = asArray(await this.link.run((r) => scripts.pull.run(r, [k.queue, k.delayed, k.inflight, k.owners, k.wakeup], args)));
    } catch (err) {
      // The script may have run with its reply lost: tasks owned here that nobody received.
      if (isConnectionError(err)) this.resync.add(worker);
      throw err;
    }
    if (resync) this.resync.delete(worker);
    const tasks = reply.slice(1).map(decodeTask).filter((t): t is WireTask => t !== null);
    for (const task of tasks) {
      held.add(task.id);
      this.stored.set(task.id, encodeValues(task));
    }
    return [tasks, reply[0] ? Number(reply[0]) : Infinity];
  }

  /** The worker is done with a task (whatever the outcome): a resync may hand it back. */
  release(worker: string, id: string): void {
    this.held.get(worker)?.delete(id);
    this.stored.delete(id);
  }

  /**
   * The field/value pairs of `task` to write for its owner: those that differ from what is stored,
   * when this puller knows it (it handed the task out), else all of them. Remembers the new values.
   * Only the owner writes a pulled task's wire fields (progress has a field of its own), and every
   * write checks ownership first, so what was stored stays known until the task is released.
   */
  changedFields(task: WireTask): string[] {
    const values = encodeValues(task);
    const before = this.stored.get(task.id);
    if (before) this.stored.set(task.id, values);
    const out: string[] = [];
    values.forEach((value, i) => {
      if (!before || before[i] !== value) out.push(WIRE_KEYS[i] as string, value);
    });
    return out;
  }

  /** The worker's tasks were recovered: it holds none any more. */
  forget(worker: string): void {
    for (const id of this.held.get(worker) ?? []) this.stored.delete(id);
    this.held.delete(worker);
    this.resync.delete(worker);
  }

  /** Waits for a wake-up token at most `ms`, on the blocking connection. */
  private async block(ms: number): Promise<void> {
    const conn = this.link.blocking;
    try {
      await this.link.ready(conn);
      // A connection that dies silently would leave BLPOP waiting forever: cut it after a margin.
      const guard = setTimeout(() => conn.disconnect(true), ms + 5000);
      try {
        await conn.blpop(this.keys.wakeup, Math.max(0.01, ms / 1000).toFixed(3));
      } finally {
        clearTimeout(guard);
      }
    } catch (err) {
      if (this.link.isClosed) return;
      throw isConnectionError(err) ? this.link.unavailable(err) : err;
    }
  }
}

function asArray(reply: unknown): unknown[] {
  return Array.isArray(reply) ? reply : [];
}
