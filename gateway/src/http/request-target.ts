/**
 * The request target as sent, reduced to what may be routed and logged. An
 * absolute-form target, which HTTP/1.1 servers must accept
 * (`GET http://user:pass@host/v1/...`), loses its scheme and authority
 * (userinfo included); a fragment, which clients must not send, is dropped.
 */
export function toOriginForm(target: string): string {
  const hash = target.indexOf('#');
  const url = hash === -1 ? target : target.slice(0, hash);
  if (url.startsWith('/')) return url;
  const authority = url.indexOf('://');
  if (authority === -1) return url;
  const path = url.slice(authority + 3).search(/[/?]/);
  return path === -1 ? '/' : url.slice(authority + 3 + path);
}

/** The path of a request target for the logs: origin form, without the query string. */
export function pathForLogs(target: string): string {
  const url = toOriginForm(target);
  const queryAt = url.indexOf('?');
  return queryAt === -1 ? url : url.slice(0, queryAt);
}
