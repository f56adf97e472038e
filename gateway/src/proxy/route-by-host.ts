import type { ResolvedAdapter } from '../config/resolve-adapters';

/**
 * Host-routed adapters: a request whose `Host` is one of an adapter's
 * `hostnames` is that adapter's request at the root, so that
 * `GET https://heroku.atlas.example.com/account` is
 * `GET /v1/apis/http/heroku/account`, with every rule of that route (caller
 * authentication, path checks, methods, headers, streaming). `/healthz`
 * stays the gateway's on every host.
 *
 * Returns the adapter's name for a request's `Host` and target, or
 * undefined; undefined itself when no adapter has host names, so other
 * requests take no detour.
 */
export function createHostRouter(
  adapters: readonly ResolvedAdapter[],
): ((host: string | undefined, url: string) => string | undefined) | undefined {
  const adapterByHost = new Map(adapters.flatMap(({ name, hostnames }) => hostnames.map((host) => [host, name])));
  if (adapterByHost.size === 0) return undefined;
  return (host, url) => {
    const name = host === undefined ? undefined : adapterByHost.get(hostName(host));
    return name === undefined || isHealthCheck(url) ? undefined : name;
  };
}

/** The name of a Host header value: lower case, without its port or a trailing dot. */
function hostName(host: string): string {
  const bracket = host.startsWith('[') ? host.indexOf(']') : -1;
  const colon = host.indexOf(':', bracket + 1);
  const name = (colon === -1 ? host : host.slice(0, colon)).toLowerCase();
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function isHealthCheck(url: string): boolean {
  return url === '/healthz' || url.startsWith('/healthz?');
}
