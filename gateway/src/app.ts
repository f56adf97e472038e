import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Authenticate } from './auth/authenticate';
import { compileAccessPolicy, mayUse } from './auth/authorize';
import type { SkippedAdapter } from './config/parse-adapters';
import type { ResolvedAdapter } from './config/resolve-adapters';
import { getRequestContext } from './http/context';
import { AtlasError } from './http/errors';
import { logRequests } from './http/log-requests';
import { failRequest, sendJson } from './http/respond';
import type { Metrics } from './metrics/metrics';
import type { BodyMemoryPacer } from './proxy/body-memory';
import { routeByHost } from './proxy/route-by-host';
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

/** Builds the gateway's Express app. It never listens: see `startServer`. */
export function createApp({ adapters, authenticate, logger, bodyMemory, skipped = [], metrics }: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.set('case sensitive routing', true);

  app.use(logRequests(logger, metrics));
  app.use(requireHost);
  app.use(refuseExpectations);
  const byHost = routeByHost(adapters);
  if (byHost !== undefined) app.use(byHost);
  app.get('/healthz', (_req, res) => sendJson(res, 200, HEALTHY));
  app.use('/v1', requireCaller(authenticate));
  // The proxy first: it is the route nearly every request takes.
  app.use('/v1/apis/http', routeToAdapters(adapters, bodyMemory, skipped, metrics));
  app.get('/v1/apis', listAdapters(adapters));
  app.all('/v1/apis', methodNotAllowed('GET, HEAD'));
  app.use(notFound);
  app.use(handleError(logger));
  return app;
}

function requireCaller(authenticate: Authenticate): RequestHandler {
  return (req, _res, next) => {
    const caller = authenticate(req);
    // Static tokens are checked synchronously: no promise on the hot path.
    if (!(caller instanceof Promise)) {
      getRequestContext(req).caller = caller;
      next();
      return;
    }
    return caller.then((identity) => {
      getRequestContext(req).caller = identity;
      next();
    });
  };
}

/**
 * `GET /v1/apis`: the adapters the caller may use (an adapter with access
 * rules is listed to the callers its rules name), never a header value.
 */
function listAdapters(adapters: readonly ResolvedAdapter[]): RequestHandler {
  const entries = adapters.map(({ name, baseUrl, hostnames, access }) => ({
    listing: { kind: 'HTTP', name, baseUrl, ...(hostnames.length > 0 ? { hostnames } : {}) },
    access: access && compileAccessPolicy(access),
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

/** HTTP/1.1 requires a Host header (RFC 9112 §3.2); Node's own refusal would be bare text. */
const requireHost: RequestHandler = (req, _res, next) => {
  if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) {
    throw new AtlasError('bad_request', 'The request has no Host header, which HTTP/1.1 requires.');
  }
  next();
};

/** How Node tells a `100-continue` expectation, which it meets itself, from any other. */
const CONTINUE_EXPECTATION = /(?:^|\W)100-continue(?:$|\W)/i;

/**
 * The only expectation HTTP defines is `100-continue` (RFC 9110 §10.1.1); any
 * other gets 417. Node would send its own bare 417 (see server.ts).
 */
const refuseExpectations: RequestHandler = (req, _res, next) => {
  const expectation = req.headers.expect;
  if (expectation !== undefined && !CONTINUE_EXPECTATION.test(expectation)) {
    throw new AtlasError('expectation_failed', 'The Expect header can only be 100-continue.');
  }
  next();
};

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
