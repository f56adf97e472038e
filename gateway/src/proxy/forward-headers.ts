import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { HOP_BY_HOP_HEADERS } from '../http/hop-by-hop';

/** The caller's credentials for the gateway: never for the upstream. */
const CALLER_CREDENTIALS = ['authorization', 'atlas-accesstoken', 'cookie', 'proxy-authorization'];

/**
 * Expect has already been answered by the gateway (100 Continue).
 * Transfer-Encoding is left in place: Node's client re-encodes the body it frames.
 */
const REQUEST_HOP_BY_HOP = [...HOP_BY_HOP_HEADERS, 'expect', 'http2-settings'];
const RESPONSE_UNFORWARDED: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP_HEADERS,
  'proxy-authenticate',
  'transfer-encoding',
  'set-cookie',
  'x-request-id',
  'atlas-error',
]);
/** Headers that frame the body: a `Connection` token cannot remove them. */
const FRAMING = new Set(['content-length', 'transfer-encoding']);

/** Every request header name that never reaches the upstream of an adapter with these headers. */
export function unforwardedHeaders(adapterHeaderNames: readonly string[]): ReadonlySet<string> {
  return new Set([...REQUEST_HOP_BY_HOP, ...CALLER_CREDENTIALS, ...adapterHeaderNames]);
}

/**
 * The headers the upstream gets, in a new object (the hot path: building
 * one is cheaper than deleting keys from Node's): the caller's, then the
 * request id, then the adapter's own (`injected`, lower-case names).
 * `unforwarded` (see `unforwardedHeaders`) holds the hop-by-hop headers,
 * the caller's credentials and the adapter's own header names, so no casing
 * or duplicate can ever sneak a caller's value through in their place.
 */
export function forwardableRequestHeaders(
  headers: IncomingHttpHeaders,
  unforwarded: ReadonlySet<string>,
  requestId: string,
  injected: Readonly<Record<string, string>>,
): IncomingHttpHeaders {
  const named = connectionTokens(headers.connection);
  const forwarded: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (!unforwarded.has(name) && (named === undefined || !named.has(name))) forwarded[name] = headers[name];
  }
  forwarded['x-request-id'] = requestId;
  for (const name in injected) forwarded[name] = injected[name];
  return forwarded;
}

/**
 * The upstream's response headers as the caller may see them, in a new
 * object: hop-by-hop headers, those its Connection header names, Set-Cookie
 * (the gateway is not the upstream's browser session), X-Request-Id and
 * Atlas-Error (the gateway's own) are dropped. So is Transfer-Encoding: the gateway frames the
 * body it relays itself, chunked when the upstream gave no length, and a
 * Content-Length beside a Transfer-Encoding is not a length.
 */
export function forwardableResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = connectionTokens(headers.connection);
  const framed = headers['transfer-encoding'] !== undefined;
  const forwarded: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (RESPONSE_UNFORWARDED.has(name) || (named !== undefined && named.has(name))) continue;
    if (framed && name === 'content-length') continue;
    forwarded[name] = headers[name];
  }
  return forwarded;
}

/** The header names a Connection header lists, minus framing headers; undefined for none. */
function connectionTokens(connection: string | undefined): Set<string> | undefined {
  // The usual values name no other header: skip the parsing.
  if (connection === undefined || /^(keep-alive|close)$/i.test(connection)) return undefined;
  const names = new Set<string>();
  for (const token of connection.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && !FRAMING.has(name)) names.add(name);
  }
  return names;
}
