import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './settings';

/**
 * JSON lines on stdout for CloudWatch. Nothing the gateway logs carries a
 * secret by construction (no headers, no query strings, no config values);
 * the redaction below is a second line of defence for error objects.
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
      redact: {
        paths: [
          '*.headers.authorization',
          '*.headers["atlas-accesstoken"]',
          '*.headers.cookie',
          'err.config',
          'err.options',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
