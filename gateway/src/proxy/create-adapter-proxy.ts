import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { createProxyMiddleware, type RequestHandler } from 'http-proxy-middleware';
import type { ResolvedAdapter } from '../config/resolve-adapters';
import { AtlasError, toUpstreamError } from '../http/errors';
import { failRequest } from '../http/respond';
import type { Metrics } from '../metrics/metrics';
import { getRequestContext } from '../http/context';
import { hasBody } from '../http/message-body';
import type { BodyMemoryPacer } from './body-memory';
import { relayResponse } from './relay-response';
import { ExpiryList } from './expiry-list';
import { limitResponseTime } from './response-timeout';

/**
 * Upstream connections are kept alive and reused. Idle sockets are closed
 * after 30 s (sooner if the upstream's Keep-Alive header says so), before
 * typical upstream idle timeouts, so a reused socket is rarely a dead one.
 */
const AGENT_OPTIONS: http.AgentOptions = {
  keepAlive: true,
  scheduling: 'lifo',
  maxFreeSockets: 256,
  timeout: 30_000,
};

const UPSTREAM_URL = Symbol('atlas.upstreamUrl');

type WithUpstreamUrl = IncomingMessage & { [UPSTREAM_URL]?: string };

/**
 * Sets the raw path and query the proxy sends upstream. They travel beside
 * `req.url` rather than in it because http-proxy-middleware parses `req.url`
 * as a URL before proxying, and a path such as `//` or `//a:b/x` is not one:
 * it would skip the proxy. `req.url` is set to "/" for that check, and the
 * `pathRewrite` hook below puts the raw path back.
 */
export function setUpstreamUrl(req: IncomingMessage, url: string): void {
  (req as WithUpstreamUrl)[UPSTREAM_URL] = url;
  req.url = '/';
}

/** The caller's response an upstream request serves: what its listeners, shared by every request, answer. */
const CALLER_RESPONSE = Symbol('atlas.callerResponse');

type UpstreamRequest = http.ClientRequest & { [CALLER_RESPONSE]?: ServerResponse };

/**
 * One proxy per adapter, built at start-up: its own agent (connection pool),
 * its fixed target, its response clock (see `limitResponseTime`) and the
 * listeners it gives every upstream request, which find what they need in
 * fields rather than in closures made per request. The router has set the
 * upstream path (`setUpstreamUrl`) and the headers, the adapter's included,
 * before this runs. With `bodyMemory`, large bodies both ways are paced (see
 * body-memory.ts).
 */
export function createAdapterProxy(
  adapter: ResolvedAdapter,
  bodyMemory?: BodyMemoryPacer,
  metrics?: Metrics,
): RequestHandler<IncomingMessage, ServerResponse> {
  const agent = adapter.target.protocol === 'https:' ? new https.Agent(AGENT_OPTIONS) : new http.Agent(AGENT_OPTIONS);
  const timeoutMessage = `The upstream of adapter "${adapter.name}" sent no response within ${adapter.timeoutMs} ms.`;
  const responseClock = new ExpiryList<http.ClientRequest>(adapter.timeoutMs, (proxyReq) =>
    proxyReq.destroy(new AtlasError('gateway_timeout', timeoutMessage)),
  );

  /**
   * A `101 Switching Protocols` to a request that asked for no upgrade (the
   * gateway forwards none) is not a response to relay: without this
   * listener, Node's client drops the connection and reports nothing, and
   * the caller would wait.
   */
  function refuseProtocolSwitch(this: UpstreamRequest, _upstreamRes: IncomingMessage, socket: Duplex): void {
    socket.destroy();
    const res = this[CALLER_RESPONSE]!;
    failRequest(
      res.req,
      res,
      new AtlasError(
        'bad_gateway',
        `The upstream of adapter "${adapter.name}" switched protocols (101), which the gateway does not relay.`,
      ),
    );
  }

  /** An upstream request that ends with no response and no error fails the same way. */
  function settle(this: UpstreamRequest): void {
    responseClock.delete(this);
    const res = this[CALLER_RESPONSE]!;
    if (!res.headersSent)
      failRequest(
        res.req,
        res,
        new AtlasError('bad_gateway', `The upstream of adapter "${adapter.name}" sent no response.`),
      );
  }

  return createProxyMiddleware<IncomingMessage, ServerResponse>({
    target: adapter.target,
    changeOrigin: true,
    agent,
    pathRewrite: (_path, req) => (req as WithUpstreamUrl)[UPSTREAM_URL],
    // The default plugins log URLs and answer errors in plain text; the
    // gateway logs and answers in its own format, and relays responses itself.
    ejectPlugins: true,
    selfHandleResponse: true,
    plugins: [
      (server) => {
        server.on('proxyReq', (proxyReq, req, res) => {
          (proxyReq as UpstreamRequest)[CALLER_RESPONSE] = res;
          if (metrics !== undefined) getRequestContext(req).upstreamSentAt = performance.now();
          bodyMemory?.watch(req);
          limitResponseTime(proxyReq, hasBody(req), responseClock);
          proxyReq.on('upgrade', refuseProtocolSwitch);
          proxyReq.on('close', settle);
        });
        server.on('proxyRes', (proxyRes, req, res) => {
          responseClock.delete(upstreamRequestOf(proxyRes));
          if (metrics !== undefined) recordUpstreamAnswer(metrics, adapter.name, proxyRes, req);
          relayResponse(proxyRes, req, res, adapter, bodyMemory);
        });
        server.on('error', (error, req, res) => {
          // Only HTTP requests reach here: the gateway does not proxy upgrades.
          if (req !== undefined && res !== undefined && 'writeHead' in res)
            failRequest(req, res, toUpstreamError(error, adapter.name));
        });
      },
    ],
  });
}

/** The upstream request a response answers (Node's client sets `res.req`). */
function upstreamRequestOf(proxyRes: IncomingMessage): http.ClientRequest {
  return (proxyRes as IncomingMessage & { req: http.ClientRequest }).req;
}

function recordUpstreamAnswer(
  metrics: Metrics,
  adapter: string,
  proxyRes: IncomingMessage,
  req: IncomingMessage,
): void {
  const sentAt = getRequestContext(req).upstreamSentAt;
  const remaining = proxyRes.headers['ratelimit-remaining'];
  const parsed = typeof remaining === 'string' && /^\d{1,15}$/.test(remaining.trim()) ? Number(remaining) : undefined;
  metrics.upstream({
    adapter,
    status: proxyRes.statusCode ?? 0,
    latencyMs: sentAt === undefined ? 0 : performance.now() - sentAt,
    rateLimitRemaining: parsed,
  });
}
