/**
 * Memory and CPU time of this process and of other processes by pid (Linux /proc: VmRSS from
 * `status`, utime + stime from `stat`), so producers, worker processes and redis-server are all
 * read the same way. Readers return null where /proc is missing or the process is gone.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MIB = 1024 * 1024;

/** Clock ticks per second of /proc/<pid>/stat times. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Bytes as MiB, one decimal. */
export function mib(bytes: number): number {
  return Math.round((bytes / MIB) * 10) / 10;
}

/** This process's RSS and used heap, in MiB. */
export function ownMemory(): { rssMb: number; heapUsedMb: number } {
  const usage = process.memoryUsage();
  return { rssMb: mib(usage.rss), heapUsedMb: mib(usage.heapUsed) };
}

/** CPU time (user + system) this process used so far, in ms. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** RSS of process `pid` in MiB. */
export function rssOfPid(pid: number): number | null {
  try {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : mib(Number(kb) * 1024);
  } catch {
    return null;
  }
}

/** CPU time (user + system) process `pid` used so far, in ms (10 ms resolution on most kernels). */
export function cpuMsOfPid(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime + stime) ? ((utime + stime) * 1000) / CLOCK_TICKS : null;
  } catch {
    return null;
  }
}
