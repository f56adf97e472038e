/**
 * Hop-by-hop headers (RFC 9110 §7.6.1, plus the legacy Keep-Alive and
 * Proxy-Connection): they describe one connection and are never forwarded.
 * Transfer-Encoding is one too, but the proxy handles it apart because it
 * frames the body being streamed.
 */
export const HOP_BY_HOP_HEADERS: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
];
