/**
 * What a redis:// puller knows of each delivery it handed out: its worker and fencing token, the
 * field values last stored (so writes send only what changed, encoding only values that were
 * replaced), and until when its lease lasts as this client last knew it (a pull or a successful
 * renewal, on this process's monotonic clock from before the request was sent).
 */
import { performance } from 'node:perf_hooks';
import type { WireTask } from '../../model/task.js';
import { WIRE_KEYS, wireValues } from './redis-codec.js';

/** One delivery handed out. */
export interface Held {
  worker: string;
  token: number;
  /** performance.now() by which the lease ends, at the latest, as last known. */
  leaseEnd: number;
  /** Stored field values (encoded, in WIRE_KEYS order), as last written or read... */
  encoded: string[];
  /** ...and the values they encode (a value still the same needs no encoding to compare). */
  values: unknown[];
  /**
   * The task's listing score (`_tq`, as stored) when it was pulled QUEUED: a finish that carries
   * the start sends it, so the script reads no listing for it (finish.lua). Nothing else moves a
   * task off QUEUED while this delivery holds it: every other write is fenced.
   */
  queuedAt?: string;
}

/** The deliveries of one puller, by task id and by worker. */
export class HeldDeliveries {
  private readonly held = new Map<string, Held>();
  private readonly byWorker = new Map<string, Set<string>>();

  /** A delivery of task `id` handed out now. */
  add(id: string, held: Held): void {
    this.heldBy(held.worker).add(id);
    this.held.set(id, held);
  }

  /** The ids `worker` holds (an empty set, kept, for a worker new here). */
  heldBy(worker: string): Set<string> {
    let mine = this.byWorker.get(worker);
    if (!mine) this.byWorker.set(worker, (mine = new Set()));
    return mine;
  }

  /** The worker is done with a delivery (whatever the outcome): a resync may hand it back. */
  release(id: string, token: number): void {
    const held = this.held.get(id);
    if (!held || held.token !== token) return;
    this.held.delete(id);
    this.byWorker.get(held.worker)?.delete(id);
  }

  /** The worker holds nothing any more. */
  forget(worker: string): void {
    for (const id of this.byWorker.get(worker) ?? []) this.held.delete(id);
    this.byWorker.delete(worker);
  }

  /** Leases renewed: `sentAt` is performance.now() from before the renewal was sent. */
  renewed(ids: readonly { id: string; token: number }[], sentAt: number, leaseMs: number): void {
    for (const { id, token } of ids) {
      const held = this.held.get(id);
      if (held && held.token === token) held.leaseEnd = Math.max(held.leaseEnd, sentAt + leaseMs);
    }
  }

  /** The listing score of a delivery pulled QUEUED (Held.queuedAt); undefined when not known here. */
  queuedAt(id: string, token: number): string | undefined {
    const held = this.held.get(id);
    return held && held.token === token ? held.queuedAt : undefined;
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
    const out: string[] = [];
    const now = wireValues(task);
    if (!held || held.token !== token) {
      for (let i = 0; i < now.length; i++) out.push(WIRE_KEYS[i] as string, JSON.stringify(now[i] ?? null));
      return out;
    }
    // A value that is the very value (or object) last stored needs no encoding (the store's
    // decoded objects are never changed in place: the runtime copies what a job may change); one
    // replaced is encoded and sent when its JSON differs.
    const { encoded, values } = held;
    for (let i = 0; i < now.length; i++) {
      const value = now[i] ?? null;
      if (value === values[i]) continue;
      values[i] = value;
      const json = JSON.stringify(value);
      if (json === encoded[i]) continue;
      encoded[i] = json;
      out.push(WIRE_KEYS[i] as string, json);
    }
    return out;
  }
}
