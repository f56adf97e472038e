import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics';
import { setRequestContext, type RequestContext } from './context';
import { pathForLogs } from './request-target';

// A caller may pass its own id for correlation; anything else is replaced.
const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id (echoed as X-Request-Id) and writes one log line
 * when it ends. The line names the caller by identity, never by credential,
 * and the path alone: no query string, fragment or absolute-form authority
 * (which may carry userinfo).
 */
export function logRequests(logger: Logger, metrics?: Metrics): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    // The request target as received: routing may rewrite req.url later.
    const target = req.url!;
    const offered = req.headers['x-request-id'];
    const requestId = typeof offered === 'string' && CALLER_REQUEST_ID.test(offered) ? offered : randomUUID();
    const context: RequestContext = {
      requestId,
      startedAt: process.hrtime.bigint(),
      caller: undefined,
      adapter: undefined,
      error: undefined,
      upstreamSentAt: undefined,
    };
    setRequestContext(req, context);
    res.setHeader('x-request-id', requestId);

    res.once('close', () => {
      // A response the gateway cut short after an error is logged with the status it sent.
      const sent = res.writableFinished || (context.error !== undefined && res.headersSent);
      const status = sent ? res.statusCode : 499;
      const line = {
        requestId,
        caller: context.caller?.id,
        adapter: context.adapter,
        method: req.method,
        path: pathForLogs(target),
        // 499: the client went away before the response was complete.
        status,
        durationMs: Math.round(Number(process.hrtime.bigint() - context.startedAt) / 1e3) / 1e3,
        error: context.error?.id,
        cause: context.error?.cause,
      };
      if (metrics !== undefined && context.adapter !== undefined) {
        metrics.request({ adapter: context.adapter, status, error: context.error?.id });
      }
      if (context.error?.id === 'forbidden') {
        // Refused by the adapter's access rules: a caller trying what it may not do.
        logger.warn(line, 'request');
      }
      // An upstream's own 401 or 403: the adapter's credentials were refused (revoked, expired, rotated).
      else if ((status === 401 || status === 403) && context.adapter !== undefined && context.error === undefined) {
        logger.warn(
          { ...line, upstreamRejected: `the upstream rejected the credentials of adapter "${context.adapter}"` },
          'request',
        );
      } else {
        logger.info(line, 'request');
      }
    });
  };
}
