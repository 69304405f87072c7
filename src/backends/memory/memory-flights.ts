/**
 * The tasks in flight of a MemoryStore: who holds each (worker and fencing token), until when
 * (a lease deadline on the store's clock), and whether its run started. Leases are ordered by
 * deadline and indexed by worker, so finding what expired costs what expired, and what one
 * worker holds costs what it holds.
 */
import type { Fence } from '../../store/contract.js';
import { BinaryHeap } from './binary-heap.js';
import type { Entry } from './stored-tasks.js';

/** One delivery of a task: its holder, its token, its lease. */
export interface Flight {
  readonly id: string;
  /** The stored task in flight (its entry outlives the flight: only ended tasks are deleted). */
  readonly entry: Entry;
  readonly worker: string;
  readonly token: number;
  /** Lease deadline, store clock (epoch ms). */
  deadline: number;
  /** True once its worker saved it STARTED. */
  started: boolean;
  /** Bumped by each renewal: only the heap entry of the latest lease is live. */
  lease: number;
  /** The neighbours in its worker's list of flights (no Set per worker to churn). */
  prev: Flight | null;
  next: Flight | null;
}

/** A lease as it was when pushed: stale once the flight is gone or renewed. */
interface LeaseEntry {
  readonly deadline: number;
  readonly lease: number;
  readonly flight: Flight;
}

/** Heap entries allowed beyond twice the live flights before the heap is rebuilt. */
const SLACK = 1024;

/**
 * The flights of one store: by id, by worker, and their leases by deadline. A worker's flights
 * are a linked list through the flights themselves: a Set of ids per worker, filled and emptied
 * with every batch, rehashed its table again and again (garbage on every pull and finish).
 */
export class Flights {
  private readonly byId = new Map<string, Flight>();
  /** The first flight of each worker's list. */
  private readonly byWorker = new Map<string, Flight>();
  private readonly leases = new BinaryHeap<LeaseEntry>((a, b) => a.deadline < b.deadline);

  get size(): number {
    return this.byId.size;
  }

  /** The flight of `id` when `fence` holds it (same worker, same token), else undefined. */
  held(id: string, fence: Fence): Flight | undefined {
    const flight = this.byId.get(id);
    return flight && flight.worker === fence.worker && flight.token === fence.token ? flight : undefined;
  }

  add(entry: Entry, worker: string, token: number, deadline: number): Flight {
    const id = entry.id;
    const first = this.byWorker.get(worker) ?? null;
    const flight: Flight = { id, entry, worker, token, deadline, started: false, lease: 0, prev: null, next: first };
    this.byId.set(id, flight);
    if (first) first.prev = flight;
    this.byWorker.set(worker, flight);
    this.leases.push({ deadline, lease: 0, flight });
    return flight;
  }

  /** Moves the lease deadline of a live flight. */
  renew(flight: Flight, deadline: number): void {
    if (flight.deadline === deadline) return;
    flight.deadline = deadline;
    this.leases.push({ deadline, lease: ++flight.lease, flight });
    this.compact();
  }

  /** Ends a flight (its heap entry goes stale and is dropped when it surfaces). */
  remove(flight: Flight): void {
    if (this.byId.get(flight.id) !== flight) return;
    this.byId.delete(flight.id);
    const { prev, next } = flight;
    if (next) next.prev = prev;
    if (prev) prev.next = next;
    else if (next) this.byWorker.set(flight.worker, next);
    else this.byWorker.delete(flight.worker);
    flight.prev = flight.next = null;
    this.compact();
  }

  /** The flights of `worker`. */
  ofWorker(worker: string): Flight[] {
    const owned: Flight[] = [];
    for (let flight = this.byWorker.get(worker); flight; flight = flight.next ?? undefined) owned.push(flight);
    // Oldest first, as they were added.
    return owned.reverse();
  }

  /** The flights whose lease deadline is before `now`, soonest first (still live: remove them). */
  expired(now: number): Flight[] {
    const out: Flight[] = [];
    for (let top = this.leases.peek(); top && top.deadline < now; top = this.leases.peek()) {
      this.leases.pop();
      if (this.live(top)) out.push(top.flight);
    }
    return out;
  }

  clear(): void {
    this.byId.clear();
    this.byWorker.clear();
    this.leases.clear();
  }

  private live(entry: LeaseEntry): boolean {
    return this.byId.get(entry.flight.id) === entry.flight && entry.flight.lease === entry.lease;
  }

  /** Rebuilds the heap once stale entries outnumber live ones (amortised O(1) per change). */
  private compact(): void {
    if (this.leases.size > 2 * this.byId.size + SLACK) this.leases.retain((e) => this.live(e));
  }
}
