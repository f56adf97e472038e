import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';

/**
 * What a server on a loopback address checks before it lends its credentials
 * to a request: the gateway without caller authentication (ATLAS_AUTH=none)
 * and `atlas proxy`, which adds the caller's Atlas token. Both are one request
 * away for anything that can reach 127.0.0.1, including web pages in a local
 * browser. This module loads nothing but node:net, so the CLI imports it
 * (`@atlas/gateway/cross-site`) without the gateway's HTTP machinery.
 */

/** Which header gave a request away as made on another site's behalf. */
export type CrossSiteSignal = 'host' | 'origin' | 'sec-fetch-site';

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) {
    // An IPv4-mapped loopback address (::ffff:127.0.0.1) is loopback too.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
    if (mapped !== null) return mapped[1]!.startsWith('127.');
    return bare === '::1' || bare === '0:0:0:0:0:0:0:1';
  }
  return false;
}

/**
 * The first sign that a browser sent the request for a page of another site,
 * or undefined for a local client:
 *
 * - a `Host` that is not a loopback name or address, with any port (DNS
 *   rebinding: a foreign name resolved to 127.0.0.1 makes the page same-origin
 *   with the server); `extraHosts` are further names or addresses the server
 *   was explicitly told to listen on;
 * - an `Origin` that is not a loopback origin (CSRF: `null` included);
 * - `Sec-Fetch-Site: cross-site`.
 */
export function detectCrossSiteRequest(
  headers: IncomingHttpHeaders,
  extraHosts: readonly string[] = [],
): CrossSiteSignal | undefined {
  if (!isAllowedAuthority(headers.host, extraHosts)) return 'host';
  if (headers.origin !== undefined && !isLoopbackOrigin(headers.origin)) return 'origin';
  if (headers['sec-fetch-site'] === 'cross-site') return 'sec-fetch-site';
  return undefined;
}

function isAllowedAuthority(authority: string | undefined, extraHosts: readonly string[]): boolean {
  if (authority === undefined) return false;
  const host = authority.startsWith('[') ? authority.slice(0, authority.indexOf(']') + 1) : authority.split(':')[0]!;
  if (isLoopbackHost(host)) return true;
  const bare = unbracket(host).toLowerCase();
  return bare !== '' && extraHosts.some((extra) => unbracket(extra).toLowerCase() === bare);
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    return isLoopbackHost(new URL(origin).hostname);
  } catch {
    return false;
  }
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
