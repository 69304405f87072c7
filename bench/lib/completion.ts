/**
 * Counts completions reported by a producer's own notification channel (pulsar-tasks'
 * `task_done`, BullMQ's QueueEvents `completed`, bee-queue's `job succeeded`) and resolves once a
 * round's tasks are all done — the moment the producer could know, which is what we time.
 */
export class CompletionCounter {
  private count = 0;
  private target = Number.POSITIVE_INFINITY;
  private resolve: (() => void) | null = null;

  /** Records one completion. */
  readonly done = (): void => {
    this.count += 1;
    if (this.count >= this.target && this.resolve) {
      const resolve = this.resolve;
      this.resolve = null;
      resolve();
    }
  };

  /** Starts counting from zero; resolves after `n` completions, rejects after `deadlineMs`. */
  expect(n: number, deadlineMs: number, what: string): Promise<void> {
    this.count = 0;
    this.target = n;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.resolve = null;
        reject(new Error(`${what}: only ${this.count} of ${n} tasks done after ${deadlineMs} ms`));
      }, deadlineMs);
      this.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
