import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { createProxyMiddleware, type RequestHandler } from 'http-proxy-middleware';
import type { ResolvedAdapter } from '../config/resolve-adapters';
import { AtlasError, toUpstreamError } from '../http/errors';
import { failRequest } from '../http/respond';
import { prepareResponseHeaders } from './forward-headers';
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

/**
 * One proxy per adapter, built at start-up: its own agent (connection pool),
 * its fixed target and its headers. The request's own `url` has been
 * rewritten to the upstream path by the router before this runs.
 */
export function createAdapterProxy(adapter: ResolvedAdapter): RequestHandler<IncomingMessage, ServerResponse> {
  const agent = adapter.target.protocol === 'https:' ? new https.Agent(AGENT_OPTIONS) : new http.Agent(AGENT_OPTIONS);
  const timeoutMessage = `The upstream of adapter "${adapter.name}" sent no response within ${adapter.timeoutMs} ms.`;

  return createProxyMiddleware<IncomingMessage, ServerResponse>({
    target: adapter.target,
    changeOrigin: true,
    agent,
    headers: adapter.headers,
    // The default plugins log URLs and answer errors in plain text; the
    // gateway logs and answers in its own format.
    ejectPlugins: true,
    plugins: [
      (server) => {
        server.on('proxyReq', (proxyReq) => {
          limitResponseTime(proxyReq, adapter.timeoutMs, () =>
            proxyReq.destroy(new AtlasError('gateway_timeout', timeoutMessage)),
          );
        });
        server.on('proxyRes', (proxyRes, _req, res) => {
          const keepAlive =
            (res as ServerResponse & { shouldKeepAlive: boolean }).shouldKeepAlive &&
            res.getHeader('connection') !== 'close';
          prepareResponseHeaders(proxyRes.headers, keepAlive);
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
