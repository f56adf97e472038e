import type { Logger } from 'pino';
import { findRequestContext } from './http/context';
import { AtlasError } from './http/errors';
import { failRequest } from './http/respond';
import { exitOnceLogged } from './logger';
import { currentResponse } from './server';

/**
 * The last line of defence against a bug: an exception nothing caught fails
 * the one request whose handling threw it (500 internal_error, or a cut
 * connection if its response had started) and is logged with that request's
 * id; the gateway keeps serving everyone else. An exception outside any
 * request leaves the process in an unknown state: it is logged and the
 * process exits, for the platform to start a fresh one.
 */
export function guardRequests(
  logger: Logger,
  target: NodeJS.EventEmitter = process,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  target.on('uncaughtException', (error: unknown) => {
    const res = currentResponse();
    if (res === undefined) {
      logger.fatal({ err: error }, 'uncaught exception outside any request: exiting');
      exitOnceLogged(logger, 1, exit);
      return;
    }
    const req = res.req;
    logger.error(
      { err: error, requestId: findRequestContext(req)?.requestId },
      'uncaught exception while handling a request: failing that request only',
    );
    if (!res.headersSent) res.setHeader('connection', 'close');
    failRequest(
      req,
      res,
      new AtlasError('internal_error', 'The gateway failed to handle the request.', { cause: error }),
    );
  });
}
