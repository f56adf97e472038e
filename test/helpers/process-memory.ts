import { readFileSync } from 'node:fs';

/** The resident set size of a live process, from /proc/<pid>/status (Linux). */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS line in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

export interface RssPeak {
  /** The highest RSS seen, in bytes. */
  readonly peakBytes: number;
  /** How many samples were taken (so a caller can tell the sampler actually ran). */
  readonly samples: number;
}

/** Samples a process's RSS every `intervalMs` until `stop` is called, and reports the peak. */
export function sampleRss(pid: number, intervalMs = 100): { stop(): RssPeak } {
  let peakBytes = readRssBytes(pid);
  let samples = 1;
  const timer = setInterval(() => {
    peakBytes = Math.max(peakBytes, readRssBytes(pid));
    samples += 1;
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      peakBytes = Math.max(peakBytes, readRssBytes(pid));
      return { peakBytes, samples: samples + 1 };
    },
  };
}
