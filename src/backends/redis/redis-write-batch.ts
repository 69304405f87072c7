/**
 * Worker writes of the redis:// store (start, finish) made in one turn of the event loop run as
 * one Lua script: a worker starts the tasks of a pull together and finishes together the tasks one
 * reply released, so a batch replaces tens of round trips and script calls by one. Each caller
 * still gets its own task's answer; a failed run fails every call of its batch. The batch waits for
 * Redis (through an outage) as long as the longest wait any of its writes may take.
 */
import { TurnBatcher } from '../../infra/turn-batcher.js';

interface PendingWrite {
  /** This task's script arguments. */
  args: (string | number)[];
  /** How long this write may wait for Redis (ms). */
  waitMs: number;
  resolve: (saved: boolean) => void;
  reject: (err: unknown) => void;
}

/** One kind of batched write. */
export class WriteBatch {
  private readonly batcher: TurnBatcher<PendingWrite>;

  /**
   * `run` gets every task's arguments, concatenated in call order, and the longest wait of the
   * batch; it answers one 0/1 per task.
   */
  constructor(run: (args: (string | number)[], waitMs: number) => Promise<unknown>) {
    this.batcher = new TurnBatcher((batch) => {
      const args: (string | number)[] = [];
      let waitMs = 0;
      for (const write of batch) {
        for (const arg of write.args) args.push(arg);
        waitMs = Math.max(waitMs, write.waitMs);
      }
      run(args, waitMs).then(
        (reply) => {
          const saved = Array.isArray(reply) ? reply : [];
          batch.forEach((write, i) => write.resolve(saved[i] === 1));
        },
        (err: unknown) => {
          for (const write of batch) write.reject(err);
        },
      );
    });
  }

  /** Queues one task's write; resolves true when it was saved (the delivery was current). */
  add(args: (string | number)[], waitMs: number): Promise<boolean> {
    return new Promise((resolve, reject) => this.batcher.push({ args, waitMs, resolve, reject }));
  }

  /** Sends the pending writes now, so that a command issued next cannot overtake them. */
  flushNow(): void {
    this.batcher.flushNow();
  }
}
