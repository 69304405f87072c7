/**
 * Lease renewal of the runs of one worker: every third of the lease, one `renew` of every run still
 * this worker's; a run whose delivery went elsewhere is reported lost, the others' local lease
 * estimate moves on. A run whose job is over is not reported lost here: its outcome's answer tells.
 */
import type { Logger } from '../infra/logger.js';
import type { TaskStore } from '../store/contract.js';
import type { ActiveRun } from './run-state.js';

export class LeaseRenewer {
  private outage = false;

  constructor(
    private readonly store: TaskStore,
    private readonly worker: string,
    private readonly log: Logger,
    private readonly runs: ReadonlyMap<string, ActiveRun>,
    private readonly lose: (run: ActiveRun, reason: string) => void,
  ) {}

  /** Renews the leases of the runs still this worker's by `leaseMs`. */
  renew(leaseMs: number): void {
    if (!this.runs.size) return;
    const sent = [...this.runs.values()].filter((r) => !r.lost && !r.handedBack).map((r) => ({ id: r.id, token: r.token }));
    if (!sent.length) return;
    const at = Date.now();
    this.store.renew(this.worker, sent, leaseMs).then(
      (gone) => {
        if (this.outage) {
          this.outage = false;
          this.log.info(`${this.worker} renews its leases again`);
        }
        const lostIds = new Set(gone);
        for (const { id, token } of sent) {
          const run = this.runs.get(id);
          if (!run || run.token !== token) continue;
          // A run whose outcome is on its way: that write's answer decides (a finish saved just
          // before this renewal ran took the task out of flight; one fenced off reports the loss).
          if (lostIds.has(id)) {
            if (!run.jobDone) this.lose(run, 'its lease was taken over');
          } else run.leaseUntil = at + leaseMs;
        }
      },
      (err: unknown) => {
        if (this.outage) return;
        this.outage = true;
        this.log.warn(`${this.worker} cannot renew the leases of ${sent.length} task(s): ${String(err)}`);
      },
    );
  }
}
