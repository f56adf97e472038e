import { type ChildProcess, spawn } from 'node:child_process';
import { ATLAS_BIN, emptyPathDir } from './cli-run';
import { REPO_ROOT } from './gateway';
import { within } from './process-wait';

/** The last line `atlas proxy` prints once every listener is up. */
const READY_LINE = 'Ctrl-C stops the proxy.';

export interface ProxyExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface AtlasProxy {
  readonly process: ChildProcess;
  /** Each listener's URL (http://127.0.0.1:<port>), by adapter, from its "Forwarding <url> to <gateway URL>" line. */
  readonly urls: Readonly<Record<string, string>>;
  /** Each listener's gateway URL, by adapter, from the same line. */
  readonly forwardsTo: Readonly<Record<string, string>>;
  stdout(): string;
  stderr(): string;
  /** The stderr lines written so far, without the trailing empty one. */
  stderrLines(): string[];
  /** Resolves once stderr holds a line matching `pattern`. */
  waitForStderr(pattern: RegExp, ms?: number): Promise<void>;
  readonly exited: Promise<ProxyExit>;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<ProxyExit>;
  /** SIGKILL if it still runs (for afterAll). */
  kill(): Promise<void>;
}

export interface AtlasProxyOptions {
  /** The whole environment besides PATH; nothing is inherited. */
  readonly env?: Record<string, string>;
  /** PATH for the child; by default an empty directory, so no `pulumi` is found. */
  readonly path?: string;
}

/** An `atlas proxy` that exited instead of printing its ready line. */
export class ProxyStartError extends Error {
  constructor(
    readonly exit: ProxyExit,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`atlas proxy exited (${exit.code ?? exit.signal}) before it was ready:\n${stderr}${stdout}`);
  }
}

/**
 * Runs the real `atlas proxy <args>` (the installed bin, as a user runs it)
 * and resolves once it has printed its ready line, or rejects with a
 * ProxyStartError when it exits first.
 */
export async function startAtlasProxy(args: readonly string[], options: AtlasProxyOptions = {}): Promise<AtlasProxy> {
  const child = spawn(process.execPath, [ATLAS_BIN, 'proxy', ...args], {
    cwd: REPO_ROOT,
    env: { PATH: options.path ?? emptyPathDir(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<ProxyExit>((resolve) => {
    // 'close', not 'exit': the output is complete then.
    child.once('close', (code, signal) => resolve({ code, signal }));
  });

  const ready = await within(
    new Promise<boolean>((resolve) => {
      const check = () => {
        if (out.includes(READY_LINE)) resolve(true);
      };
      child.stdout.on('data', check);
      void exited.then(() => resolve(out.includes(READY_LINE)));
    }),
    15_000,
    'the ready line of atlas proxy',
  );
  if (!ready) throw new ProxyStartError(await exited, out, err);

  const urls: Record<string, string> = {};
  const forwardsTo: Record<string, string> = {};
  for (const [, url, target] of out.matchAll(/^Forwarding (\S+) to (\S+)$/gm)) {
    const adapter = target!.slice(target!.lastIndexOf('/') + 1);
    urls[adapter] = url!;
    forwardsTo[adapter] = target!;
  }

  const stderrLines = () => err.split('\n').filter((line) => line !== '');
  return {
    process: child,
    urls,
    forwardsTo,
    stdout: () => out,
    stderr: () => err,
    stderrLines,
    async waitForStderr(pattern, ms = 10_000) {
      let onData: (() => void) | undefined;
      const seen = new Promise<void>((resolve) => {
        onData = () => {
          if (stderrLines().some((line) => pattern.test(line))) resolve();
        };
        child.stderr.on('data', onData);
        onData();
      });
      try {
        await within(seen, ms, `stderr line matching ${String(pattern)}`);
      } finally {
        child.stderr.off('data', onData!);
      }
    },
    exited,
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
