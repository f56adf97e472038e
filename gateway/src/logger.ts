import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './settings';

/**
 * JSON lines on stdout for CloudWatch. Nothing the gateway logs carries a
 * secret by construction: it logs named fields (never headers, query strings
 * or config values), and errors only as their message and stack.
 */
export function createLogger(
  level: LogLevel,
  destination: DestinationStream = pino.destination({ dest: 1, sync: false }),
): Logger {
  return pino(
    {
      level,
      base: { service: 'atlas-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** The stream a logger writes its lines to: for other lines that must not interleave with them. */
export function logDestination(logger: Logger): NodeJS.WritableStream {
  return (logger as unknown as Record<symbol, NodeJS.WritableStream>)[pino.symbols.streamSym]!;
}

/**
 * Exits with `code` once every line logged so far has been written: the last
 * line before an exit ("stopped", a fatal error) is the one that says why.
 * `logger.flush(cb)` does not wait for that: with the asynchronous destination
 * `createLogger` makes (minLength 0), as with any other stream, it calls back
 * at once, while the last write may still be in progress. Ending the
 * destination does wait: it writes what is queued, then closes (stdout itself
 * stays open). A destination that cannot drain (nobody reads the pipe) gets
 * `waitMs`, and the process exits all the same.
 */
export function exitOnceLogged(
  logger: Logger,
  code: number,
  exit: (code: number) => void = (exitCode) => process.exit(exitCode),
  waitMs = 2_000,
): void {
  const stream = logDestination(logger);
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    exit(code);
  };
  const timer = setTimeout(finish, waitMs);
  for (const event of ['finish', 'close', 'error']) stream.once(event, finish);
  try {
    stream.end();
  } catch {
    // Already ended or destroyed: nothing is left to write.
    finish();
  }
}
