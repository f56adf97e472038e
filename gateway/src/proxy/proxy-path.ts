import { toOriginForm } from '../http/request-target';
import type { ResolvedAdapter } from '../config/resolve-adapters';

export interface ProxyPath {
  /** The adapter segment, raw: looked up exactly, never decoded. */
  readonly adapter: string;
  /** The rest of the path, raw ("" or starting with "/"). */
  readonly path: string;
  /** The query string with its "?", raw, or "". */
  readonly query: string;
}

/**
 * Splits `/<adapter>/<path>?<query>` (the URL below /v1/apis/http) without
 * decoding anything. An absolute-form request target keeps its scheme and
 * host in front of that after routing; they are dropped, since each adapter
 * fixes its own, and so is a fragment.
 */
export function splitProxyPath(requestUrl: string): ProxyPath {
  const url = toOriginForm(requestUrl);
  const queryAt = url.indexOf('?');
  const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? '' : url.slice(queryAt);
  const slash = pathname.indexOf('/', 1);
  return slash === -1
    ? { adapter: pathname.slice(1), path: '', query }
    : { adapter: pathname.slice(1, slash), path: pathname.slice(slash), query };
}

const ENCODED_SEPARATOR_OR_DOT = /%(2e|2f)/gi;

/** A path parameter (`;v=1`), raw or with the semicolon percent-encoded. */
const PATH_PARAMETER = /(;|%3b).*$/i;

/**
 * Names what makes a path unsafe to forward, or returns undefined. Dot
 * segments ("." and "..", also percent-encoded in any case, hidden behind
 * an encoded slash or followed by a path parameter, as in "..;" which
 * servlet containers read as "..") could walk out of the base URL's path
 * prefix on an upstream that normalizes; backslashes are separators to
 * some servers.
 */
export function findUnsafePathPart(path: string): string | undefined {
  if (path.includes('\\') || /%5c/i.test(path)) return 'a backslash';
  // Fast path: nothing that can spell a dot segment.
  if (!path.includes('.') && !path.includes('%')) return undefined;
  const decoded = path.replace(ENCODED_SEPARATOR_OR_DOT, (match) => (match[2] === 'f' || match[2] === 'F' ? '/' : '.'));
  for (const segment of decoded.split('/')) {
    const name = segment.replace(PATH_PARAMETER, '');
    if (name === '.' || name === '..') return 'a dot segment ("." or "..")';
  }
  return undefined;
}

/** The upstream path: the base URL's prefix, then the caller's path, as raw bytes. */
export function toUpstreamPath(adapter: ResolvedAdapter, path: string): string {
  return path === '' || path === '/' ? adapter.ownPath : adapter.basePath + path;
}
