import type { IncomingMessage } from 'node:http';

/**
 * Whether a request has a body: a Content-Length other than 0, or a
 * Transfer-Encoding. Without either, an HTTP/1.1 request has none (RFC 9112
 * §6.3), and nothing of it is left unread on the connection.
 */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
