import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics';
import type { RequestContext } from './context';
import { pathForLogs } from './request-target';

// A caller may pass its own id for correlation; anything else is replaced.
const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

type ContextRequest = IncomingMessage & RequestContext;

/**
 * Gives every request an id (echoed as X-Request-Id) and writes one log line
 * when it ends. The line names the caller by identity, never by credential,
 * and the path alone: no query string, fragment or absolute-form authority
 * (which may carry userinfo). What the line needs is kept in the request's
 * own fields (see `GatewayRequest`), and one `close` listener, the same
 * function for every response, writes it: nothing is allocated per request
 * but the id and the line.
 */
export function logRequests(logger: Logger, metrics?: Metrics): (req: IncomingMessage, res: ServerResponse) => void {
  function logLine(this: ServerResponse): void {
    const req = this.req as ContextRequest;
    const { error, adapter } = req;
    // A response the gateway cut short after an error is logged with the status it sent.
    const sent = this.writableFinished || (error !== undefined && this.headersSent);
    // 499: the client went away before the response was complete.
    const status = sent ? this.statusCode : 499;
    const line = {
      requestId: req.requestId,
      caller: req.caller?.id,
      adapter,
      method: req.method,
      path: pathForLogs(req.target),
      status,
      durationMs: Math.round((performance.now() - req.startedAt) * 1000) / 1000,
      error: error?.id,
      cause: error?.cause,
    };
    if (metrics !== undefined && adapter !== undefined) metrics.request({ adapter, status, error: error?.id });
    if (error?.id === 'forbidden') {
      // Refused by the adapter's access rules: a caller trying what it may not do.
      logger.warn(line, 'request');
    }
    // An upstream's own 401 or 403: the adapter's credentials were refused (revoked, expired, rotated).
    else if ((status === 401 || status === 403) && adapter !== undefined && error === undefined) {
      logger.warn(
        { ...line, upstreamRejected: `the upstream rejected the credentials of adapter "${adapter}"` },
        'request',
      );
    } else {
      logger.info(line, 'request');
    }
  }

  return (req, res) => {
    const context = req as ContextRequest;
    const offered = req.headers['x-request-id'];
    const requestId = typeof offered === 'string' && CALLER_REQUEST_ID.test(offered) ? offered : randomUUID();
    context.requestId = requestId;
    context.startedAt = performance.now();
    context.target = req.url!;
    context.caller = undefined;
    context.adapter = undefined;
    context.error = undefined;
    context.upstreamSentAt = undefined;
    // The X-Request-Id header is set with the rest of the response's (see respond.ts and relay-response.ts):
    // a response with no header set beforehand is written from the object given to writeHead, as it is.
    res.on('close', logLine);
  };
}
