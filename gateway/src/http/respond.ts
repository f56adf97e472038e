import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestContext } from './context';
import type { AtlasError } from './errors';

/** Records the failure for the request's log line, then answers `{ id, message }`. */
export function failRequest(req: IncomingMessage, res: ServerResponse, error: AtlasError): void {
  getRequestContext(req).error = { id: error.id, cause: describeCause(error.cause) };
  if (res.headersSent) {
    // An upstream failed mid-body: the only honest signal left is to cut the
    // connection, so the client sees a truncated response, not a complete one.
    res.destroy();
    return;
  }
  if (res.destroyed) return;
  if (error.headers) for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  sendJson(res, error.status, JSON.stringify({ id: error.id, message: error.message }));
}

/** Answers with a JSON body serialized once by the caller. */
export function sendJson(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
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
