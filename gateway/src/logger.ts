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
