/**
 * A measured window around the timed throughput rounds: CPU time of the producer, the worker
 * processes and redis-server; server-wide Redis commands (INFO commandstats) and used_memory;
 * then memory right after.
 * Every driver opens one before its first timed round and closes it after the last.
 */
import type { Redis } from 'ioredis';
import { cpuMsOfPid, ownCpuMs, ownMemory, rssOfPid } from './proc.js';
import type { CpuReport, MemoryReport, ServerCommandStats } from './protocol.js';
import { commandCounts, diffCounts, memoryDeltaMb, serverCommandStats, usedMemory, type CommandCounts } from './redis-stats.js';

/** What the window watches. */
export interface WindowTargets {
  /** A connection for reading Redis counters; null for local://. */
  stats: Redis | null;
  redisPid: number | null;
  workerPids: readonly number[];
  /** RSS of this process before warm-up, in MiB. */
  producerRssStartMb: number;
  /**
   * For a store that lives in this process (local://): deletes the ended tasks it keeps for
   * resultTtl. The window then reads the heap once they are gone, to tell what the store keeps
   * from anything else the producer would keep per task.
   */
  dropStored?: () => Promise<void>;
}

/** What a closed window measured. */
export interface WindowResult {
  cpu: CpuReport;
  memory: MemoryReport;
  commandstats: ServerCommandStats | null;
}

interface Reading {
  producer: number;
  workers: number | null;
  redis: number | null;
}

/** Opens a window: reads the counters now. */
export async function openWindow(targets: WindowTargets): Promise<{ close(tasks: number): Promise<WindowResult> }> {
  const memBefore = targets.stats ? await usedMemory(targets.stats) : null;
  const before: CommandCounts | null = targets.stats ? await commandCounts(targets.stats) : null;
  // The warm-up's ended tasks are dropped, so the heap before and after compare like for like.
  await targets.dropStored?.();
  // Collected before the CPU reading, so the collection is not counted in the rounds' CPU.
  globalThis.gc?.();
  const heapBefore = ownMemory().heapUsedMb;
  const cpuBefore = readCpu(targets);
  return {
    async close(tasks: number): Promise<WindowResult> {
      const cpuAfter = readCpu(targets);
      const after = targets.stats ? await commandCounts(targets.stats) : null;
      const memAfter = targets.stats ? await usedMemory(targets.stats) : null;
      const own = ownMemory();
      const workerRssMb = targets.workerPids.map(rssOfPid);
      // What the producer still holds once garbage is gone (tasks kept by local://'s store, ...).
      globalThis.gc?.();
      const retained = ownMemory();
      const rest = await heapWithoutStored(targets);
      const perTask = (mb: number) => Math.round(((mb - heapBefore) * 2 ** 20) / tasks);
      return {
        cpu: cpuPer1k(cpuBefore, cpuAfter, tasks),
        memory: {
          producerRssStartMb: targets.producerRssStartMb,
          producerRssMb: own.rssMb,
          producerHeapUsedMb: own.heapUsedMb,
          producerHeapAfterGcMb: retained.heapUsedMb,
          producerHeapBeforeGcMb: heapBefore,
          producerRetainedBytesPerTask: perTask(retained.heapUsedMb),
          producerHeapWithoutStoredMb: rest,
          producerBytesPerTaskWithoutStored: rest === null ? null : perTask(rest),
          workerRssMb,
          redisUsedMemoryDeltaMb: memBefore !== null && memAfter !== null ? memoryDeltaMb(memBefore, memAfter) : null,
          redisBytesPerTask: memBefore !== null && memAfter !== null ? Math.round((memAfter - memBefore) / tasks) : null,
        },
        commandstats: before && after ? serverCommandStats(diffCounts(before, after), tasks) : null,
      };
    },
  };
}

/** The heap after GC once the store in this process dropped its ended tasks (null: no such store). */
async function heapWithoutStored(targets: WindowTargets): Promise<number | null> {
  if (!targets.dropStored) return null;
  await targets.dropStored();
  globalThis.gc?.();
  return ownMemory().heapUsedMb;
}

function readCpu(targets: WindowTargets): Reading {
  const workers = targets.workerPids.map(cpuMsOfPid);
  return {
    producer: ownCpuMs(),
    workers: workers.some((w) => w === null) ? null : workers.reduce<number>((s, w) => s + (w ?? 0), 0),
    redis: targets.redisPid !== null && targets.stats ? cpuMsOfPid(targets.redisPid) : null,
  };
}

function cpuPer1k(before: Reading, after: Reading, tasks: number): CpuReport {
  const per1k = (a: number | null, b: number | null) => (a === null || b === null ? null : Math.round(((b - a) * 1000) / tasks));
  const producer = per1k(before.producer, after.producer) as number;
  const workers = per1k(before.workers, after.workers);
  const redis = per1k(before.redis, after.redis);
  return { producer, workers, redis, total: producer + (workers ?? 0) + (redis ?? 0) };
}
