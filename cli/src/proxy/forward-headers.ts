import type { IncomingMessage } from 'node:http';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1, plus the legacy Keep-Alive and
 * Proxy-Connection) describe one connection, so a proxy never forwards
 * them. Node frames each body it writes itself (Content-Length as given,
 * else chunked), so Transfer-Encoding is among them.
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/**
 * The client's credentials (a placeholder key such as HEROKU_API_KEY=atlas-proxy)
 * go nowhere: the gateway gets the Atlas token instead. Host is the gateway's
 * own; Expect was answered here (100 Continue) before the body was read.
 */
const NOT_FROM_CLIENT: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  'authorization',
  'proxy-authorization',
  'cookie',
  'atlas-accesstoken',
  'host',
  'expect',
  'http2-settings',
]);

const NOT_TO_CLIENT: ReadonlySet<string> = new Set(HOP_BY_HOP);

/** Headers that frame the body: a Connection token cannot remove them. */
const FRAMING: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding']);

/**
 * The client's request headers as the gateway gets them, in rawHeaders form
 * (names as sent, repeated headers kept): without hop-by-hop headers, those the
 * Connection header names, or the client's credentials; with the gateway's
 * Host and the Atlas token.
 */
export function toGatewayRequestHeaders(req: IncomingMessage, gatewayHost: string, token: string): string[] {
  const chunked = req.headers['transfer-encoding'] !== undefined;
  // Beside a Transfer-Encoding, a Content-Length is not a length.
  const dropped = chunked ? new Set([...NOT_FROM_CLIENT, 'content-length']) : NOT_FROM_CLIENT;
  const headers = keepHeaders(req.rawHeaders, dropped, req.headers.connection);
  headers.push('Host', gatewayHost, 'Authorization', `Bearer ${token}`);
  // A body of unknown length stays one: Node chunk-encodes what it pipes.
  if (chunked) headers.push('Transfer-Encoding', 'chunked');
  return headers;
}

/** The gateway's response headers as the client gets them (rawHeaders form), minus hop-by-hop headers. */
export function toClientResponseHeaders(res: IncomingMessage): string[] {
  return keepHeaders(res.rawHeaders, NOT_TO_CLIENT, res.headers.connection);
}

function keepHeaders(raw: readonly string[], dropped: ReadonlySet<string>, connection: string | undefined): string[] {
  const named = connectionTokens(connection);
  const kept: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (dropped.has(name) || named.has(name)) continue;
    kept.push(raw[i]!, raw[i + 1]!);
  }
  return kept;
}

function connectionTokens(connection: string | undefined): ReadonlySet<string> {
  const names = new Set<string>();
  for (const token of (connection ?? '').split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && !FRAMING.has(name)) names.add(name);
  }
  return names;
}
