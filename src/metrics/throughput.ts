/**
 * Throughput over the last minutes, for the dashboard's chart: tasks that ended, by outcome, in
 * fixed time buckets (a ring: old buckets are dropped as time moves on).
 */

/** One bucket: its start (epoch ms) and the tasks that ended in it. */
export interface ThroughputBucket {
  t: number;
  succeeded: number;
  failed: number;
  revoked: number;
}

/** Outcomes counted. */
export type Outcome = 'succeeded' | 'failed' | 'revoked';

/** Buckets of `bucketMs` over the last `spanMs`. */
export class ThroughputSeries {
  private readonly buckets: ThroughputBucket[] = [];

  constructor(
    readonly bucketMs = 10_000,
    readonly spanMs = 15 * 60_000,
  ) {}

  /** Counts one ended task at `nowMs`. */
  add(outcome: Outcome, nowMs: number = Date.now()): void {
    const t = Math.floor(nowMs / this.bucketMs) * this.bucketMs;
    let last = this.buckets[this.buckets.length - 1];
    if (!last || last.t < t) {
      last = { t, succeeded: 0, failed: 0, revoked: 0 };
      this.buckets.push(last);
      this.trim(nowMs);
    }
    last[outcome]++;
  }

  /** Every bucket of the span up to `nowMs`, empty ones included, oldest first. */
  read(nowMs: number = Date.now()): ThroughputBucket[] {
    this.trim(nowMs);
    const end = Math.floor(nowMs / this.bucketMs) * this.bucketMs;
    const start = end - this.spanMs + this.bucketMs;
    const byT = new Map(this.buckets.map((b) => [b.t, b]));
    const out: ThroughputBucket[] = [];
    for (let t = start; t <= end; t += this.bucketMs) out.push({ ...(byT.get(t) ?? { t, succeeded: 0, failed: 0, revoked: 0 }) });
    return out;
  }

  private trim(nowMs: number): void {
    const oldest = nowMs - this.spanMs;
    while (this.buckets.length && (this.buckets[0] as ThroughputBucket).t < oldest) this.buckets.shift();
  }
}
