import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

/** Memory figures are in MB of 10^6 bytes, like the throughput figures. */
const KIB_TO_MB = 1024 / 1e6;

export interface MemoryReading {
  readonly rssMB: number;
  /** Peak RSS since start, or since the last `resetPeak`. */
  readonly peakMB: number;
  /** The part of RSS that is the process's own memory (heap, buffers), rather than mapped files such as its binary. */
  readonly anonMB: number;
  readonly fileMB: number;
}

export function readMemory(pid: number): MemoryReading | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
  if (!rss || !hwm) return undefined;
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return {
    rssMB: Number(rss[1]) * KIB_TO_MB,
    peakMB: Number(hwm[1]) * KIB_TO_MB,
    anonMB: field('RssAnon') * KIB_TO_MB,
    fileMB: field('RssFile') * KIB_TO_MB,
  };
}

/** Sets the process's VmHWM back to its current RSS (Linux `clear_refs` 5); false where that is not allowed. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export interface MemoryWindow {
  /** RSS when the window opened. */
  readonly startMB: number;
  /** Highest RSS inside the window. */
  readonly peakMB: number;
  readonly growthMB: number;
  /** How RSS splits when the window closes. */
  readonly endAnonMB: number;
  readonly endFileMB: number;
}

/**
 * Watches a process's RSS over a window. The kernel's high-water mark (reset
 * when the window opens) catches peaks between samples; sampling covers
 * kernels where it cannot be reset.
 */
export function watchMemory(pid: number, intervalMs = 100): { stop(): MemoryWindow | undefined } {
  const reset = resetPeak(pid);
  const start = readMemory(pid);
  let sampled = start?.rssMB ?? 0;
  const timer = setInterval(() => {
    const now = readMemory(pid);
    if (now) sampled = Math.max(sampled, now.rssMB);
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const end = readMemory(pid);
      if (!start || !end) return undefined;
      const peakMB = Math.max(sampled, end.rssMB, reset ? end.peakMB : 0);
      return {
        startMB: start.rssMB,
        peakMB,
        growthMB: peakMB - start.rssMB,
        endAnonMB: end.anonMB,
        endFileMB: end.fileMB,
      };
    },
  };
}

/** The worker of a one-worker nginx: the master's only child. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((item) => item !== '')
      .map(Number);
  } catch {
    return [];
  }
}

let clockTicks: number | undefined;

/** CPU time (user + system) the process has used, in seconds. */
export function readCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name, which may itself contain spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}
