/**
 * What the scaling run (bench/lib/scaling.ts) measures: its contenders, its two axes, its points
 * and how many tasks a round at each point has.
 */
import type { ContenderId, ThroughputRound } from './protocol.js';

/** The contenders drawn, in legend order. */
export const SCALING_CONTENDERS: readonly ContenderId[] = ['pulsar-redis', 'bullmq', 'bee-queue'];
/** Concurrent tasks per worker on the first axis, at AXIS_WORKERS workers. */
export const CONCURRENCY_AXIS: readonly number[] = [1, 10, 50, 200];
/** Worker processes on the second axis, at AXIS_CONCURRENCY concurrent tasks each. */
export const WORKERS_AXIS: readonly number[] = [1, 2, 4];
export const AXIS_WORKERS = 2;
export const AXIS_CONCURRENCY = 50;

/** One setting measured. */
export interface ScalingPoint {
  workers: number;
  concurrency: number;
  /** Tasks per timed round. */
  tasks: number;
  /** Tasks of the untimed warm-up round. */
  warmupTasks: number;
}

/** One contender at one point: the median over the timed rounds of every pass, and each pass's own. */
export interface PointMeasure {
  medianTasksPerSec: number;
  passMedians: number[];
  rounds: ThroughputRound[];
}

/** What each contender did at a point, or why it has no figure (a failure in any pass). */
export interface PointResult extends ScalingPoint {
  measured: Partial<Record<ContenderId, PointMeasure>>;
  failed: Partial<Record<ContenderId, string>>;
}

/**
 * Tasks per timed round: 500 per task slot in flight (workers × concurrency), at most 5000 (the
 * comparison's round). Only 2 workers × 1 gets fewer (1000): at a few hundred to a few thousand
 * tasks/s a 5000-task round would take seconds there for no better figure.
 */
export function tasksPerRound(workers: number, concurrency: number): number {
  return Math.min(5000, 500 * workers * concurrency);
}

/** The points, concurrency axis first; 2 workers × 50 is on both axes and measured once. */
export function scalingPoints(): ScalingPoint[] {
  const settings = [
    ...CONCURRENCY_AXIS.map((concurrency) => ({ workers: AXIS_WORKERS, concurrency })),
    ...WORKERS_AXIS.filter((w) => w !== AXIS_WORKERS).map((workers) => ({ workers, concurrency: AXIS_CONCURRENCY })),
  ];
  return settings.map(({ workers, concurrency }) => {
    const tasks = tasksPerRound(workers, concurrency);
    return { workers, concurrency, tasks, warmupTasks: Math.min(1000, tasks) };
  });
}

/** `items` starting at index `by` (mod length), so no contender always runs first. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const k = items.length ? by % items.length : 0;
  return [...items.slice(k), ...items.slice(0, k)];
}
