import { closeSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * Replaces a file's content all at once: the new text goes to a temporary
 * file beside it (same directory, so the same file system), is flushed to
 * disk, then renamed over the original. A reader, or a run interrupted at
 * any point, sees the old file or the new one, never half of either. The
 * original's permissions are kept.
 */
export function writeFileAtomically(file: string, text: string): void {
  const mode = statSync(file).mode & 0o7777;
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = openSync(temporary, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temporary, file);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    unlinkSync(temporary);
    throw error;
  }
}
