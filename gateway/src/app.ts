import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import type { Authenticate } from './auth/authenticate';
import type { Caller } from './auth/caller';
import { mayUse } from './auth/authorize';
import type { SkippedAdapter } from './config/parse-adapters';
import type { ResolvedAdapter } from './config/resolve-adapters';
import { getRequestContext } from './http/context';
import { AtlasError } from './http/errors';
import { logRequests } from './http/log-requests';
import { toOriginForm } from './http/request-target';
import { failRequest, sendJson } from './http/respond';
import type { Metrics } from './metrics/metrics';
import type { BodyMemoryPacer } from './proxy/body-memory';
import { createHostRouter } from './proxy/route-by-host';
import { routeToAdapters } from './proxy/route-to-adapters';

export interface AppOptions {
  readonly adapters: readonly ResolvedAdapter[];
  readonly authenticate: Authenticate;
  readonly logger: Logger;
  /** Paces the memory of large proxied bodies; without it, V8 alone decides when their buffers are freed. */
  readonly bodyMemory?: BodyMemoryPacer;
  /** Adapters of other kinds the config lists: named in the 404 of a request to one. */
  readonly skipped?: readonly SkippedAdapter[];
  /** Where request and upstream figures go; without it, none are collected. */
  readonly metrics?: Metrics;
}

const HEALTHY = JSON.stringify({ status: 'ok' });

/** The gateway's request listener: what `startServer` serves. */
export type Gateway = (req: IncomingMessage, res: ServerResponse) => void;

/** Where proxied requests are mounted: `/v1/apis/http/<adapter>/<path>`. */
const PROXY_MOUNT = '/v1/apis/http';

/**
 * Builds the gateway. It never listens: see `startServer`.
 *
 * Proxied requests, nearly all of them, go straight to their adapter's
 * handler through the same steps the app's routes take (log, request head
 * checks, caller authentication, then the adapter's access rules, limits and
 * proxy), without walking Express's router; everything else (`/healthz`,
 * `GET /v1/apis`, not-found answers) is the Express app's.
 */
export function createApp({ adapters, authenticate, logger, bodyMemory, skipped = [], metrics }: AppOptions): Gateway {
  const startRequest = logRequests(logger, metrics);
  const onError = handleError(logger);

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.set('case sensitive routing', true);
  app.use((req, res, next) => {
    startRequest(req, res);
    checkRequestHead(req);
    next();
  });
  app.get('/healthz', (_req, res) => sendJson(res, 200, HEALTHY));
  app.use('/v1', requireCaller(authenticate));
  app.get('/v1/apis', listAdapters(adapters));
  app.all('/v1/apis', methodNotAllowed('GET, HEAD'));
  app.use(notFound);
  app.use(onError);

  const proxy = routeToAdapters(adapters, bodyMemory, skipped, metrics) as unknown as (
    req: IncomingMessage,
    res: ServerResponse,
    next: (error?: unknown) => void,
  ) => unknown;
  const routeByHost = createHostRouter(adapters);

  /** The URL below the proxy mount (`/<adapter>/<path>?<query>`) of a proxied request, else undefined. */
  function proxiedUrl(req: IncomingMessage): string | undefined {
    // An absolute-form target is served by its path (startServer converts it before this runs, too).
    const url = req.url![0] === '/' ? req.url! : toOriginForm(req.url!);
    const hostRouted = routeByHost?.(req.headers.host, url);
    if (hostRouted !== undefined) return `/${hostRouted}${url}`;
    if (!url.startsWith(PROXY_MOUNT)) return undefined;
    const below = url.slice(PROXY_MOUNT.length);
    if (below === '') return '/';
    if (below[0] === '/') return below;
    return below[0] === '?' ? `/${below}` : undefined;
  }

  const fail = (req: IncomingMessage, res: ServerResponse, error: unknown) =>
    onError(error, req as Request, res as Response, () => {});
  const forward = (req: IncomingMessage, res: ServerResponse, below: string) => {
    req.url = below;
    const next = (error?: unknown) => fail(req, res, error ?? new Error('the proxy passed a request on'));
    try {
      const done = proxy(req, res, next);
      if (done instanceof Promise) done.catch(next);
    } catch (error) {
      fail(req, res, error);
    }
  };

  return (req, res) => {
    const below = proxiedUrl(req);
    if (below === undefined) {
      app(req, res);
      return;
    }
    try {
      startRequest(req, res);
      checkRequestHead(req);
      const verifying = recordCaller(req, authenticate(req));
      if (verifying === undefined) forward(req, res, below);
      else
        verifying.then(
          () => forward(req, res, below),
          (error: unknown) => fail(req, res, error),
        );
    } catch (error) {
      fail(req, res, error);
    }
  };
}

/**
 * Records who is calling for the request's log line and checks: a static
 * token's caller at once (no promise on the hot path), a JWT's once
 * verified, when the returned promise settles.
 */
function recordCaller(req: IncomingMessage, caller: Caller | Promise<Caller>): Promise<void> | undefined {
  if (!(caller instanceof Promise)) {
    getRequestContext(req).caller = caller;
    return undefined;
  }
  return caller.then((identity) => {
    getRequestContext(req).caller = identity;
  });
}

function requireCaller(authenticate: Authenticate): RequestHandler {
  return (req, _res, next) => {
    const verifying = recordCaller(req, authenticate(req));
    if (verifying === undefined) {
      next();
      return;
    }
    // Express 5 passes a rejection on to the error handler.
    return verifying.then(() => next());
  };
}

/**
 * `GET /v1/apis`: the adapters the caller may use (an adapter with access
 * rules is listed to the callers its rules name), never a header value.
 */
function listAdapters(adapters: readonly ResolvedAdapter[]): RequestHandler {
  const entries = adapters.map(({ name, baseUrl, hostnames, access }) => ({
    listing: { kind: 'HTTP', name, baseUrl, ...(hostnames.length > 0 ? { hostnames } : {}) },
    access,
  }));
  if (entries.every(({ access }) => access === undefined)) {
    const everything = JSON.stringify(entries.map(({ listing }) => listing));
    return (_req, res) => sendJson(res, 200, everything);
  }
  return (req, res) => {
    const caller = getRequestContext(req).caller!;
    const visible = entries.filter(({ access }) => access === undefined || mayUse(access, caller));
    sendJson(res, 200, JSON.stringify(visible.map(({ listing }) => listing)));
  };
}

function methodNotAllowed(allow: string): RequestHandler {
  return (req) => {
    throw new AtlasError('method_not_allowed', `${req.method} is not allowed here; use ${allow}.`, {
      headers: { allow },
    });
  };
}

/** How Node tells a `100-continue` expectation, which it meets itself, from any other. */
const CONTINUE_EXPECTATION = /(?:^|\W)100-continue(?:$|\W)/i;

/**
 * What every request's head must be: HTTP/1.1 requires a Host header (RFC
 * 9112 §3.2; Node's own refusal would be bare text), and the only
 * expectation HTTP defines is `100-continue` (RFC 9110 §10.1.1): any other
 * gets 417 (Node would send its own bare 417, see server.ts).
 */
function checkRequestHead(req: IncomingMessage): void {
  if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) {
    throw new AtlasError('bad_request', 'The request has no Host header, which HTTP/1.1 requires.');
  }
  const expectation = req.headers.expect;
  if (expectation !== undefined && !CONTINUE_EXPECTATION.test(expectation)) {
    throw new AtlasError('expectation_failed', 'The Expect header can only be 100-continue.');
  }
}

const notFound: RequestHandler = (req) => {
  throw new AtlasError(
    'not_found',
    `Nothing is served at ${req.method} ${req.path}. Routes: GET /healthz, GET /v1/apis, /v1/apis/http/<adapter>/<path>.`,
  );
};

function handleError(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (error instanceof AtlasError) {
      failRequest(req, res, error);
      return;
    }
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      failRequest(req, res, new AtlasError('bad_request', 'The request is malformed.', { cause: error }));
      return;
    }
    logger.error({ err: error, requestId: getRequestContext(req).requestId }, 'unexpected error');
    failRequest(
      req,
      res,
      new AtlasError('internal_error', 'The gateway failed to handle the request.', { cause: error }),
    );
  };
}
