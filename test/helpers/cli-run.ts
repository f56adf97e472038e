import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './gateway';

/** The installed `atlas` bin (cli/bin/atlas.js, which loads the compiled cli/dist). */
export const ATLAS_BIN = path.join(REPO_ROOT, 'node_modules/.bin/atlas');
export const CLI_FIXTURES = path.join(REPO_ROOT, 'test/fixtures/cli');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
  /** stdout as UTF-8. */
  readonly out: string;
}

export interface CliOptions {
  /** The complete environment besides PATH; nothing is inherited. */
  readonly env?: Record<string, string>;
  /**
   * PATH for the child. Defaults to an empty directory, so no `pulumi` is
   * found and the stack-output fallback cannot fill in a URL or token.
   */
  readonly path?: string;
  readonly cwd?: string;
}

/** A directory that stays empty: as PATH, it holds no `pulumi` (nor anything else). */
export function emptyPathDir(): string {
  const dir = path.join(os.tmpdir(), 'atlas-cli-empty-path');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Runs the real `atlas` bin as a child process with an explicit environment.
 * Asynchronous on purpose: an in-process gateway must keep answering while
 * the CLI waits on it.
 */
export function runAtlas(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [ATLAS_BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { PATH: options.path ?? emptyPathDir(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      const stdout = Buffer.concat(out);
      resolve({ code, stdout, stderr: Buffer.concat(err).toString('utf8'), out: stdout.toString('utf8') });
    });
  });
}

export interface CliTempDir {
  readonly path: string;
  /** Copies a file of test/fixtures/cli (or an absolute path) into the directory under `name`. */
  copy(source: string, name?: string): string;
  write(name: string, text: string | Buffer): string;
  /** The directory's entries, sorted. */
  entries(): string[];
  remove(): void;
}

export function makeCliTempDir(): CliTempDir {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-cli-'));
  return {
    path: dir,
    copy(source, name = path.basename(source)) {
      const target = path.join(dir, name);
      fs.copyFileSync(path.isAbsolute(source) ? source : path.join(CLI_FIXTURES, source), target);
      return target;
    },
    write(name, text) {
      const target = path.join(dir, name);
      fs.writeFileSync(target, text);
      return target;
    },
    entries: () => fs.readdirSync(dir).sort(),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export interface LineDiff {
  /** Lines of `after` that are not in `before`, in order. */
  readonly added: string[];
  /** Lines of `before` missing from `after`. */
  readonly removed: string[];
}

/**
 * A line diff (longest common subsequence), as version control would show
 * it. Compares line content only, so a final line that gains its newline
 * does not count as changed.
 */
export function diffLines(before: string, after: string): LineDiff {
  const a = splitLines(before);
  const b = splitLines(after);
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const added: string[] = [];
  const removed: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) {
      removed.push(a[i++]!);
    } else {
      added.push(b[j++]!);
    }
  }
  removed.push(...a.slice(i));
  added.push(...b.slice(j));
  return { added, removed };
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * Temporary directories for tests that run concurrently (one each), removed
 * together once the file's tests are done.
 */
export function makeCliTempDirs(): { make(): CliTempDir; removeAll(): void } {
  const made: CliTempDir[] = [];
  return {
    make() {
      const dir = makeCliTempDir();
      made.push(dir);
      return dir;
    },
    removeAll: () => made.splice(0).forEach((dir) => dir.remove()),
  };
}
