/* eslint-disable @typescript-eslint/no-dynamic-delete -- header maps are edited by name: that is this module's job */
import type { IncomingHttpHeaders } from 'node:http';
import { HOP_BY_HOP_HEADERS } from '../http/hop-by-hop';

/** The caller's credentials for the gateway: never for the upstream. */
const CALLER_CREDENTIALS = ['authorization', 'atlas-accesstoken', 'cookie', 'proxy-authorization'];

/**
 * Expect has already been answered by the gateway (100 Continue).
 * Transfer-Encoding is left in place: Node's client re-encodes the body it frames.
 */
const REQUEST_HOP_BY_HOP = [...HOP_BY_HOP_HEADERS, 'expect', 'http2-settings'];
const RESPONSE_HOP_BY_HOP = [...HOP_BY_HOP_HEADERS, 'proxy-authenticate'];
/** Headers that frame the body: a `Connection` token cannot remove them. */
const FRAMING = new Set(['content-length', 'transfer-encoding']);

/**
 * Rewrites the caller's headers in place into what the upstream may see.
 * The adapter's own headers are added afterwards by the proxy and so replace
 * any caller header of the same name; deleting those names here as well
 * means no casing or duplicate can ever sneak a caller's value through.
 */
export function prepareRequestHeaders(
  headers: IncomingHttpHeaders,
  adapterHeaderNames: readonly string[],
  requestId: string,
): void {
  removeConnectionTokens(headers);
  for (const name of REQUEST_HOP_BY_HOP) delete headers[name];
  for (const name of CALLER_CREDENTIALS) delete headers[name];
  for (const name of adapterHeaderNames) delete headers[name];
  headers['x-request-id'] = requestId;
}

/**
 * Rewrites the upstream's response headers in place: hop-by-hop headers and
 * Set-Cookie (the gateway is not the upstream's browser session) are dropped,
 * and the connection header is ours to decide.
 */
export function prepareResponseHeaders(headers: IncomingHttpHeaders, keepAlive: boolean): void {
  removeConnectionTokens(headers);
  for (const name of RESPONSE_HOP_BY_HOP) delete headers[name];
  delete headers['set-cookie'];
  delete headers['x-request-id'];
  headers.connection = keepAlive ? 'keep-alive' : 'close';
}

function removeConnectionTokens(headers: IncomingHttpHeaders): void {
  const connection = headers.connection;
  if (connection === undefined) return;
  for (const token of connection.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && !FRAMING.has(name)) delete headers[name];
  }
}
