import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { authorize } from '../auth/authorize';
import { normalizePath } from '../config/access-rules';
import type { SkippedAdapter } from '../config/parse-adapters';
import type { ResolvedAdapter } from '../config/resolve-adapters';
import { HTTP_METHODS } from '../config/schema';
import { getRequestContext } from '../http/context';
import { AtlasError } from '../http/errors';
import type { Metrics } from '../metrics/metrics';
import type { BodyMemoryPacer } from './body-memory';
import { createAdapterProxy, setUpstreamUrl } from './create-adapter-proxy';
import { forwardableRequestHeaders, unforwardedHeaders } from './forward-headers';
import { findUnsafePathPart, splitProxyPath, toUpstreamPath } from './proxy-path';
import { createRateLimiter, type RateLimiter } from './rate-limiter';

/** Methods the gateway refuses whatever an adapter allows (see server.ts for CONNECT and TRACK). */
const REFUSED_METHODS: ReadonlySet<string> = new Set(['TRACE', 'TRACK', 'CONNECT']);

interface Route {
  readonly adapter: ResolvedAdapter;
  readonly unforwarded: ReadonlySet<string>;
  /** The methods the adapter forwards, as an `Allow` header value. */
  readonly allowHeader: string;
  readonly proxy: ReturnType<typeof createAdapterProxy>;
  readonly limiter: RateLimiter | undefined;
}

/**
 * Serves `/v1/apis/http/<adapter>/<path>` (mounted at /v1/apis/http): finds
 * the adapter by exact name, refuses what must not be forwarded, checks the
 * adapter's access rules and the caller's rate limit, rewrites the headers
 * and the path, and hands the request to that adapter's proxy. Nothing is
 * forwarded before every check has passed.
 */
export function routeToAdapters(
  adapters: readonly ResolvedAdapter[],
  bodyMemory: BodyMemoryPacer | undefined,
  skipped: readonly SkippedAdapter[] = [],
  metrics?: Metrics,
): RequestHandler {
  const skippedKinds = new Map(skipped.map(({ name, kind }) => [name, kind]));
  // A Map, not an object: "__proto__" or "constructor" are just unknown names.
  const routes = new Map<string, Route>(
    adapters.map((adapter) => [
      adapter.name,
      {
        adapter,
        unforwarded: unforwardedHeaders(Object.keys(adapter.headers)),
        allowHeader: adapter.allowedMethods ? [...adapter.allowedMethods].join(', ') : HTTP_METHODS.join(', '),
        proxy: createAdapterProxy(adapter, bodyMemory, metrics),
        limiter: adapter.rateLimit && createRateLimiter(adapter.rateLimit),
      },
    ]),
  );

  return (req, res, next) => {
    const { adapter: name, path, query } = splitProxyPath(req.url);
    const route = routes.get(name);
    if (route === undefined) {
      const kind = skippedKinds.get(name);
      throw new AtlasError(
        'adapter_not_found',
        name === ''
          ? 'Name an adapter: /v1/apis/http/<adapter>/<path>. GET /v1/apis lists them.'
          : kind !== undefined
            ? `Adapter "${name}" has kind ${kind}; this gateway serves HTTP adapters only. GET /v1/apis lists them.`
            : `No adapter is named "${name.slice(0, 64)}". GET /v1/apis lists the adapters.`,
      );
    }
    const { adapter } = route;
    const context = getRequestContext(req);
    context.adapter = adapter.name;
    if (adapter.unavailable !== undefined) {
      throw new AtlasError('adapter_unavailable', `Adapter "${adapter.name}" is unavailable: ${adapter.unavailable}.`);
    }
    if (REFUSED_METHODS.has(req.method)) {
      // TRACE would echo the adapter's credentials back to the caller.
      throw new AtlasError(
        'method_not_allowed',
        `${req.method} is never forwarded; ${adapter.name} allows ${route.allowHeader}.`,
        {
          headers: { allow: route.allowHeader },
        },
      );
    }
    const unsafe = findUnsafePathPart(path);
    if (unsafe !== undefined) {
      throw new AtlasError('bad_request', `The path contains ${unsafe}, which the gateway does not forward.`);
    }
    // Path rules see the path in the form it is forwarded in, so no encoding can make the two differ.
    const forwardedPath = adapter.access?.restrictsPaths ? normalizePath(path) : path;
    const caller = context.caller!;
    if (adapter.access !== undefined && !authorize(adapter.access, caller, req.method, forwardedPath)) {
      throw new AtlasError(
        'forbidden',
        `Caller "${caller.id}" may not send this request to adapter "${adapter.name}": its access rules do not allow it.`,
      );
    }
    if (adapter.allowedMethods !== undefined && !adapter.allowedMethods.has(req.method)) {
      throw new AtlasError(
        'method_not_allowed',
        `Adapter "${adapter.name}" does not allow ${req.method}; it allows ${route.allowHeader}.`,
        {
          headers: { allow: route.allowHeader },
        },
      );
    }
    if (route.limiter !== undefined) limitRate(route.limiter, caller.id, adapter.name, res);
    req.headers = forwardableRequestHeaders(req.headers, route.unforwarded, context.requestId!, adapter.headers);
    setUpstreamUrl(req, toUpstreamPath(adapter, forwardedPath) + query);
    return route.proxy(req, res, next);
  };
}

/**
 * Takes one request from the caller's bucket. Atlas's limit travels in the
 * IETF `RateLimit-Policy` and `RateLimit` fields, on every response of the
 * adapter; an upstream's own rate-limit headers (Heroku's
 * `RateLimit-Remaining`) pass through untouched.
 */
function limitRate(limiter: RateLimiter, caller: string, adapter: string, res: ServerResponse): void {
  const decision = limiter.take(caller);
  res.setHeader('ratelimit-policy', limiter.policy);
  res.setHeader('ratelimit', limiter.describe(decision));
  if (!decision.allowed) {
    throw new AtlasError(
      'rate_limited',
      `Caller "${caller}" is over its rate limit for adapter "${adapter}"; retry in ${decision.retryAfterSeconds} s.`,
      { headers: { 'retry-after': String(decision.retryAfterSeconds) } },
    );
  }
}
