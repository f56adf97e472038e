import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const LOCK = path.join(os.tmpdir(), 'atlas-bench.lock');
const MAX_WAIT_MS = 30 * 60_000;

function holder(): number | undefined {
  try {
    const pid = Number(readFileSync(LOCK, 'utf8'));
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/**
 * Two benchmark runs at once on one machine measure each other. The second
 * one waits for the first to finish (a lock file in the temp directory,
 * taken over when the process that holds it is gone).
 */
export async function acquireBenchLock(log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + MAX_WAIT_MS;
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      process.once('exit', () => {
        try {
          if (readFileSync(LOCK, 'utf8') === String(process.pid)) unlinkSync(LOCK);
        } catch {
          // already gone
        }
      });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = holder();
    if (pid === undefined) {
      unlinkSync(LOCK);
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another benchmark run (pid ${pid}) has held ${LOCK} for 30 minutes`);
    if (!announced) log(`waiting for the benchmark run of pid ${pid} to finish (${LOCK})`);
    announced = true;
    await sleep(2000);
  }
}
