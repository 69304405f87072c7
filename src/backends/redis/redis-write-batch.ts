/**
 * Worker writes of the redis:// store (start, finish) made in one turn of the event loop run as
 * one Lua script: a worker starts the tasks of a pull together and finishes together the tasks one
 * reply released, so a batch replaces tens of round trips and script calls by one. Each caller
 * still gets its own task's answer; a failed run fails every call of its batch. The batch waits for
 * Redis (through an outage) as long as the longest wait any of its writes may take. A write added
 * with a key can be taken back out of its batch until the batch leaves (RedisDeliveries: a finish
 * in the same turn carries its task's start).
 */
import { TurnBatcher } from '../../infra/turn-batcher.js';

interface PendingWrite {
  /** This task's script arguments. */
  args: (string | number)[];
  /** How long this write may wait for Redis (ms). */
  waitMs: number;
  resolve: (saved: boolean) => void;
  reject: (err: unknown) => void;
  /** Set when taken out of its batch before it left (detach). */
  detached?: boolean;
  /** What detach names it by, if anything. */
  key?: string;
  /** Told the answer (false on a failure) before the write's caller: the store's own bookkeeping. */
  settle?: (saved: boolean) => void;
  /** A write detached into this one (a start its finish carries): settled and answered as this one is. */
  carried?: DetachedWrite;
}

/** A write taken out of its batch: whoever took it answers it. */
export interface DetachedWrite {
  /** Its script arguments. */
  args: (string | number)[];
  resolve: (saved: boolean) => void;
  reject: (err: unknown) => void;
  /** Its own bookkeeping, told the answer of the write that carries it. */
  settle?: (saved: boolean) => void;
}

/** One kind of batched write. */
export class WriteBatch {
  private readonly batcher: TurnBatcher<PendingWrite>;
  /** The keyed writes of the batch not sent yet. */
  private readonly keyed = new Map<string, PendingWrite>();

  /**
   * `run` gets every task's arguments, concatenated in call order, the longest wait of the batch
   * and its number of tasks; it answers one 0/1 per task.
   */
  constructor(
    run: (args: (string | number)[], waitMs: number, tasks: number) => Promise<unknown>,
    /** The batch leaves a turn later (TurnBatcher `late`). */
    late = false,
    /** The arguments that go before the tasks' in every run. */
    head: readonly (string | number)[] = [],
  ) {
    this.batcher = new TurnBatcher((all) => {
      if (this.keyed.size) {
        for (const write of all) if (write.key !== undefined && this.keyed.get(write.key) === write) this.keyed.delete(write.key);
      }
      const batch = all.some((write) => write.detached) ? all.filter((write) => !write.detached) : all;
      if (!batch.length) return;
      const args: (string | number)[] = head.slice();
      let waitMs = 0;
      for (const write of batch) {
        for (const arg of write.args) args.push(arg);
        waitMs = Math.max(waitMs, write.waitMs);
      }
      run(args, waitMs, batch.length).then(
        (reply) => {
          const saved = Array.isArray(reply) ? reply : [];
          for (let i = 0; i < batch.length; i++) answer(batch[i] as PendingWrite, saved[i] === 1);
        },
        (err: unknown) => {
          for (const write of batch) fail(write, err);
        },
      );
    }, late);
  }

  /**
   * Queues one task's write; resolves true when it was saved (the delivery was current). `settle`
   * hears the answer first (false on a failure); `carried`, a write detached into this one, gets
   * the same answer.
   */
  add(args: (string | number)[], waitMs: number, key?: string, settle?: (saved: boolean) => void, carried?: DetachedWrite): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const write: PendingWrite = { args, waitMs, resolve, reject, key, settle, carried };
      if (key !== undefined) this.keyed.set(key, write);
      this.batcher.push(write);
    });
  }

  /**
   * Takes the write added with `key` out of the batch, if it has not left yet and its arguments
   * at `at` and `at + 1` are `a` and `b`.
   */
  detach(key: string, at: number, a: string | number, b: string | number): DetachedWrite | undefined {
    const write = this.keyed.get(key);
    if (!write || write.args[at] !== a || write.args[at + 1] !== b) return undefined;
    this.keyed.delete(key);
    write.detached = true;
    return write;
  }

  /** Sends the pending writes now, so that a command issued next cannot overtake them. */
  flushNow(): void {
    this.batcher.flushNow();
  }
}

function answer(write: PendingWrite, saved: boolean): void {
  write.settle?.(saved);
  write.carried?.settle?.(saved);
  write.carried?.resolve(saved);
  write.resolve(saved);
}

function fail(write: PendingWrite, err: unknown): void {
  write.settle?.(false);
  write.carried?.settle?.(false);
  write.carried?.reject(err);
  write.reject(err);
}
