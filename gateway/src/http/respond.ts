import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { findRequestContext } from './context';
import type { AtlasError } from './errors';
import { hasBody } from './message-body';

/**
 * Names the error on every error response the gateway itself generates, so a
 * client tells the gateway's 401 or 404 from the upstream's (which never
 * carries it: see forward-headers.ts).
 */
export const ATLAS_ERROR = 'atlas-error';

/** Response headers only the gateway sets: an error response keeps them and nothing else. */
const OWN_HEADERS: ReadonlySet<string> = new Set(['connection', 'ratelimit', 'ratelimit-policy']);

/**
 * Records the failure for the request's log line, then answers `{ id, message }`.
 * The answer is built from nothing: headers staged from an upstream response
 * are dropped. A request whose body was not read to its end gets
 * `Connection: close`, since what follows on the connection is unknown. Once
 * the response has started, the only honest signal left is to cut the
 * connection. The first failure of a request is the one recorded.
 */
export function failRequest(req: IncomingMessage, res: ServerResponse, error: AtlasError): void {
  if (res.writableEnded || res.destroyed) return;
  const context = findRequestContext(req);
  if (context !== undefined) context.error = { id: error.id, cause: describeCause(error.cause) };
  if (res.headersSent) {
    // The client sees a truncated response, not a complete one.
    res.destroy();
    return;
  }
  for (const name of res.getHeaderNames()) if (!OWN_HEADERS.has(name)) res.removeHeader(name);
  // What is left of a body the gateway did not read would be taken for the next request.
  if (!req.complete && hasBody(req)) res.setHeader('connection', 'close');
  if (error.headers) for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.setHeader(ATLAS_ERROR, error.id);
  sendJson(res, error.status, JSON.stringify({ id: error.id, message: error.message }));
}

/** The response header that echoes the request's id. */
export const REQUEST_ID = 'x-request-id';

/** Answers with a JSON body serialized once by the caller, and the request's id. */
export function sendJson(res: ServerResponse, status: number, body: string): void {
  const requestId = findRequestContext(res.req)?.requestId;
  if (requestId !== undefined) res.setHeader(REQUEST_ID, requestId);
  res.statusCode = status;
  res.statusMessage = STATUS_CODES[status] ?? '';
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}

/** A one-line cause for the logs: the error's code or name and its message. */
function describeCause(cause: unknown): string | undefined {
  if (!(cause instanceof Error)) return cause === undefined ? undefined : String(cause);
  const code = (cause as NodeJS.ErrnoException).code;
  return `${code ?? cause.name}: ${cause.message}`;
}
