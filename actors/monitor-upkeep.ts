/**
 * The monitor's periodic upkeep of the store: tasks whose lease expired go back to the queue (only
 * those that had started are charged), and finished tasks past `resultTtl` are deleted in bounded
 * batches. Both take durations only: the store's clock decides.
 */
import type { Logger } from '../src/infra/logger.js';
import type { TaskStore } from '../src/store/contract.js';

/** Tasks deleted per purge call: bounded so the store (one mailbox, one Redis script) stays responsive. */
export const PURGE_BATCH = 500;

/** Recovers the tasks whose lease expired, and says what it did. */
export function recoverExpired(store: TaskStore, maxRedeliveries: number, log: Logger): void {
  store
    .recover({ maxRedeliveries })
    .then((r) => {
      if (r.requeued.length) log.warn(`requeued ${r.requeued.length} task(s) whose lease expired`);
      if (r.failed.length) log.error(`${r.failed.length} task(s) failed: their workers were lost too often`);
      if (r.returned.length) log.info(`returned ${r.returned.length} unstarted task(s) whose lease expired to the queue`);
    })
    .catch((err: unknown) => log.debug(`lease recovery failed: ${String(err)}`));
}

/** Deletes tasks that ended more than `resultTtl` seconds ago, a batch at a time; one run at once. */
export class ResultPurger {
  private running = false;

  constructor(
    private readonly store: TaskStore,
    private readonly resultTtl: number,
    private readonly log: Logger,
    private readonly stopped: () => boolean,
  ) {}

  /** Starts a purge unless one runs (or results are kept forever). */
  run(): void {
    if (this.running || this.resultTtl <= 0 || !this.store.purge) return;
    this.running = true;
    void this.purge().finally(() => (this.running = false));
  }

  private async purge(): Promise<void> {
    const olderThanMs = this.resultTtl * 1000;
    try {
      let total = 0;
      for (let n = PURGE_BATCH; n === PURGE_BATCH && !this.stopped(); total += n) n = (await this.store.purge?.(olderThanMs, PURGE_BATCH)) ?? 0;
      if (total) this.log.debug(`deleted ${total} task(s) that ended more than ${this.resultTtl}s ago`);
    } catch (err) {
      this.log.debug(`result expiry failed: ${String(err)}`);
    }
  }
}
