import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { setRequestContext, type RequestContext } from './context';

// A caller may pass its own id for correlation; anything else is replaced.
const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id (echoed as X-Request-Id) and writes one log line
 * when it ends. The line names the caller by identity, never by credential,
 * and the path without its query string.
 */
export function logRequests(logger: Logger, isDraining: () => boolean): RequestHandler {
  return (req, res, next) => {
    const offered = req.headers['x-request-id'];
    const requestId = typeof offered === 'string' && CALLER_REQUEST_ID.test(offered) ? offered : randomUUID();
    const context: RequestContext = {
      requestId,
      startedAt: process.hrtime.bigint(),
      caller: undefined,
      adapter: undefined,
      error: undefined,
    };
    setRequestContext(req, context);
    res.setHeader('x-request-id', requestId);
    // While draining, ask keep-alive clients to reconnect elsewhere.
    if (isDraining()) res.setHeader('connection', 'close');

    const url = req.originalUrl;
    const queryAt = url.indexOf('?');
    res.once('close', () => {
      const finished = res.writableFinished;
      logger.info(
        {
          requestId,
          caller: context.caller,
          adapter: context.adapter,
          method: req.method,
          path: queryAt === -1 ? url : url.slice(0, queryAt),
          // 499: the client went away before the response was complete.
          status: finished ? res.statusCode : 499,
          durationMs: Math.round(Number(process.hrtime.bigint() - context.startedAt) / 1e3) / 1e3,
          error: context.error?.id,
          cause: context.error?.cause,
        },
        'request',
      );
    });
    next();
  };
}
