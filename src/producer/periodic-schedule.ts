/**
 * The periodic side of a TaskBackend: one SchedulerEntry per periodic job, the tick that claims
 * and queues each due run once across every scheduler sharing the store, and `nextScheduled`.
 * Due times follow the store's clock; `nextRun` is on this process's clock, made of durations
 * only, so a skewed clock changes nothing.
 */
import { DateTime } from 'luxon';
import type { Logger } from '../infra/logger.js';
import type { JobRegistry } from '../job/registry.js';
import { SchedulerEntry } from '../job/scheduler.js';
import type { Json } from '../model/json.js';
import type { TaskStore } from '../store/contract.js';
import { buildTask } from './task-builder.js';

/** Scheduler entries and the tick of one application. */
export class PeriodicSchedule {
  /** Scheduler entries of periodic jobs, by name (empty unless scheduling). */
  readonly entries = new Map<string, SchedulerEntry>();
  /** When `tick()` next has work (this process's clock); null when not scheduling. */
  nextRun: DateTime | null = null;
  /** The store's clock minus this process's, as of the last tick. */
  private clockOffsetMs = 0;
  private clockAligned = false;

  constructor(
    private readonly store: TaskStore,
    private readonly registry: JobRegistry,
    private readonly log: Logger,
    readonly enabled: boolean,
  ) {
    if (!enabled) return;
    const now = DateTime.now();
    for (const job of registry.periodic()) this.entries.set(job.name, SchedulerEntry.forJob(job, now));
    this.nextRun = now;
  }

  /**
   * Queues each due periodic job once across every scheduler sharing the store (each run is
   * claimed and queued in one atomic store call), and sets `nextRun` to now plus the smallest
   * remaining time. `now` given: that time instead of the store's.
   */
  async tick(now?: DateTime): Promise<void> {
    if (!this.enabled) return;
    const localMs = Date.now();
    if (!now) {
      const storeMs = await this.store.now();
      const offset = storeMs - localMs;
      // The entries were made on this process's clock: move them onto the store's once.
      if (!this.clockAligned) for (const entry of this.entries.values()) entry.lastRunAt = entry.lastRunAt.plus({ milliseconds: offset });
      this.clockAligned = true;
      this.clockOffsetMs = offset;
      now = DateTime.fromMillis(storeMs);
    }
    const storedLastRuns = await this.store.lastRuns();
    let soonest = Infinity;
    for (const entry of this.entries.values()) {
      const stored = storedLastRuns[entry.name];
      if (stored !== undefined && stored > entry.lastRunAt.toMillis()) entry.lastRunAt = DateTime.fromMillis(stored);
      const [due, remaining] = entry.isDue(now);
      if (due) {
        try {
          const task = buildTask(this.registry, entry.name, undefined, undefined, now.toMillis());
          if ((await this.store.claimRun(entry.name, stored ?? null, now.toMillis(), task)) !== false) entry.next(now);
        } catch (err) {
          this.log.error(`periodic job ${entry.name} could not be queued: ${String(err)}`);
        }
        // The entry's clock is the tick's, whoever queued the run.
        entry.lastRunAt = now;
      }
      soonest = Math.min(soonest, due ? entry.isDue(now)[1] : remaining);
    }
    this.nextRun = Number.isFinite(soonest) ? DateTime.fromMillis(localMs).plus({ milliseconds: Math.max(0, soonest * 1000) }) : null;
  }

  /** A run of `name` queued by hand counts as a run of its entry. */
  counted(name: string, now: DateTime): void {
    this.entries.get(name)?.next(now);
  }

  /**
   * null when not scheduling; `[name, 0]` for the first due entry, else `[name, seconds]` for the
   * soonest; `[jobNames, null]` when no entry matches.
   */
  nextScheduled(jobNames?: string[] | null, now?: DateTime): [string, number] | [string[] | null, null] | null {
    if (!this.enabled) return null;
    const at = now ?? DateTime.now().plus({ milliseconds: this.clockOffsetMs });
    let best: [string, number] | null = null;
    for (const entry of this.entries.values()) {
      if (jobNames && jobNames.length && !jobNames.includes(entry.name)) continue;
      const [due, remaining] = entry.isDue(at);
      if (due) return [entry.name, 0];
      if (!best || remaining < best[1]) best = [entry.name, remaining];
    }
    return best ?? [jobNames ?? null, null];
  }

  /** What `job_list` says of a periodic job's schedule; null for a job without an entry. */
  entryInfo(name: string): { [key: string]: Json } | null {
    const entry = this.entries.get(name);
    if (!entry) return null;
    const info: { [key: string]: Json } = { next_run: entry.nextRunAt().toMillis() / 1000 };
    if (entry.runEvery) info.run_every = entry.runEvery.as('seconds');
    if (entry.cron) info.cron = entry.cron;
    info.runs_count = entry.totalRunCount;
    return info;
  }
}
