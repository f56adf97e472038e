import type { GatewayProcess } from './gateway';

/**
 * Resolves with `promise` if it settles within `ms`, else rejects naming
 * what was awaited. The bound keeps a broken behaviour from hanging the test;
 * it is generous on purpose and is not a speed assertion.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until the gateway process has written to stdout a line matching `pattern`. */
export async function waitForOutput(gateway: GatewayProcess, pattern: RegExp, ms = 10_000): Promise<void> {
  const stdout = gateway.process.stdout!;
  let onData: (() => void) | undefined;
  const seen = new Promise<void>((resolve) => {
    // Added after the helper's own listener, so stdout() already holds the chunk that fired it.
    onData = () => {
      if (pattern.test(gateway.stdout())) resolve();
    };
    stdout.on('data', onData);
    onData();
  });
  try {
    await within(seen, ms, `gateway output matching ${String(pattern)}`);
  } finally {
    stdout.off('data', onData!);
  }
}
