import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

// The header rules of the two reference proxies (node-proxy.mts and
// undici-proxy.mts): the two injected headers, and no hop-by-hop headers
// either way.
export const INJECTED = {
  authorization: `Bearer ${process.env.HEROKU_API_KEY}`,
  accept: 'application/vnd.heroku+json; version=3',
};

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

/** A copy of `headers` without hop-by-hop headers, nor those named in `also`. */
export function withoutHopByHop(
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
  also: ReadonlySet<string> = new Set(),
): OutgoingHttpHeaders {
  const copy: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !also.has(name)) copy[name] = value;
  }
  return copy;
}
