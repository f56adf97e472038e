import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { type CrossSiteSignal, detectCrossSiteRequest } from '@atlas/gateway/cross-site';
import { toClientResponseHeaders, toGatewayRequestHeaders } from './forward-headers';

export interface ProxyHandlerOptions {
  /** The adapter every request goes to: `/path` becomes `<gateway>/v1/apis/http/<adapter>/path`. */
  readonly adapter: string;
  /** The gateway's base URL; a path prefix (`https://host/atlas`) is kept. */
  readonly gateway: URL;
  readonly token: string;
  /** Names or addresses besides loopback that clients may use as Host (an explicit --address). */
  readonly extraHosts: readonly string[];
  /** A keep-alive agent for the gateway's protocol. */
  readonly agent: http.Agent;
  readonly connectTimeoutMs: number;
  /** Receives one line per problem, for stderr. */
  readonly report: (line: string) => void;
}

/** Methods that may be sent again when a kept-alive connection turns out to be closed. */
const RESENDABLE = new Set(['GET', 'HEAD', 'OPTIONS']);

const REFUSALS: Readonly<Record<CrossSiteSignal, (req: http.IncomingMessage) => string>> = {
  host: (req) =>
    `Host ${JSON.stringify(req.headers.host ?? '')} is not this machine: address the proxy as 127.0.0.1 or localhost`,
  origin: (req) => `Origin ${JSON.stringify(req.headers.origin)} is a web page of another site`,
  'sec-fetch-site': () => 'Sec-Fetch-Site: cross-site is a request a web page of another site made',
};

/**
 * Serves one adapter: each request is streamed to the gateway with the Atlas
 * token instead of the client's credentials, and the gateway's answer
 * (status, headers, body, errors) is streamed back as it comes. Requests a
 * browser may send on another site's behalf are refused first, since every
 * forwarded request carries the caller's token.
 */
export function createProxyHandler(options: ProxyHandlerOptions): http.RequestListener {
  const { gateway, token, agent, report } = options;
  const client = gateway.protocol === 'https:' ? https : http;
  const prefix = `${gateway.pathname.replace(/\/+$/, '')}/v1/apis/http/${options.adapter}`;
  const hostname = gateway.hostname.replace(/^\[(.*)\]$/, '$1');

  return (req, res) => {
    const what = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    const signal = detectCrossSiteRequest(req.headers, options.extraHosts);
    if (signal !== undefined) {
      const reason = REFUSALS[signal](req);
      report(`${what}: refused: ${reason}`);
      return sendError(req, res, 403, 'forbidden', `atlas proxy refused the request: ${reason}.`);
    }
    if (req.url === undefined || !req.url.startsWith('/')) {
      return sendError(
        req,
        res,
        400,
        'bad_request',
        `atlas proxy serves paths such as /account: use it as the API base URL (HEROKU_HOST=http://${req.headers.host}), not as an HTTP proxy.`,
      );
    }

    const headers = toGatewayRequestHeaders(req, gateway.host, token);
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    let answered = false;

    const forward = (resendable: boolean): void => {
      let upstream: http.ClientRequest;
      try {
        upstream = client.request({
          protocol: gateway.protocol,
          hostname,
          port: gateway.port,
          method: req.method,
          path: `${prefix}${req.url}`,
          headers,
          agent,
        });
      } catch (error) {
        // Node refuses to send some targets and header values (ERR_UNESCAPED_CHARACTERS, ERR_INVALID_CHAR).
        const code = (error as NodeJS.ErrnoException).code ?? String(error);
        return sendError(req, res, 400, 'bad_request', `atlas proxy cannot forward this request: ${code}.`);
      }

      upstream.on('socket', (socket: Socket) => limitConnectTime(upstream, socket, options.connectTimeoutMs));
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        if (answered || res.destroyed) return;
        // A kept-alive connection the gateway (or a load balancer) closed as the request left:
        // nothing was processed, and a request without a body can simply be sent again.
        if (resendable && upstream.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
          return forward(false);
        }
        const message = `cannot reach the gateway at ${gateway.origin}: ${describeFailure(error, options.connectTimeoutMs)}`;
        report(`${what}: ${message}`);
        req.unpipe(upstream);
        sendError(req, res, 502, 'gateway_unreachable', `atlas proxy ${message}.`);
      });
      upstream.on('response', (response) => {
        answered = true;
        const problem = describeRefusal(response, options.adapter);
        if (problem !== undefined) report(`${what}: ${problem}`);
        res.writeHead(response.statusCode!, response.statusMessage, toClientResponseHeaders(response));
        pipeline(response, res, (error) => {
          if (error !== undefined && error !== null && !res.writableFinished && !req.destroyed && !res.destroyed) {
            report(`${what}: the gateway's response broke off: ${(error as NodeJS.ErrnoException).code ?? error}`);
          }
        });
      });
      if (hasBody) req.pipe(upstream);
      else upstream.end();
      // The client went away: stop the request (and the response stream) at the gateway too.
      res.once('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
    };

    forward(!hasBody && RESENDABLE.has(req.method ?? ''));
  };
}

/** A connect timeout only: once connected, a response may stream for as long as it lasts. */
function limitConnectTime(request: http.ClientRequest, socket: Socket, ms: number): void {
  if (!socket.connecting) return;
  const timer = setTimeout(() => {
    request.destroy(Object.assign(new Error(`no connection within ${ms} ms`), { code: 'ETIMEDOUT' }));
  }, ms);
  const clear = () => clearTimeout(timer);
  socket.once('connect', clear);
  socket.once('close', clear);
}

function describeFailure(error: NodeJS.ErrnoException, connectTimeoutMs: number): string {
  if (error.code === 'ETIMEDOUT') return `ETIMEDOUT (no connection within ${connectTimeoutMs / 1000} s)`;
  return error.code ?? error.message;
}

/**
 * The stderr line for an answer that says the proxy's setup is wrong (the
 * token, the adapter's name, what the caller may do), or undefined. The
 * gateway's own errors carry Atlas-Error; the upstream's never do.
 */
function describeRefusal(response: http.IncomingMessage, adapter: string): string | undefined {
  const status = response.statusCode;
  switch (response.headers['atlas-error']) {
    case undefined:
      return status === 401
        ? `${adapter} itself answered 401: it refused the credentials the gateway holds for adapter "${adapter}"`
        : undefined;
    case 'unauthorized':
      return 'the gateway refused the Atlas token (401): check --token, ATLAS_TOKEN or the stack output accessToken';
    case 'adapter_not_found':
      return `the gateway has no HTTP adapter "${adapter}" (404): check the name with atlas apis list`;
    case 'forbidden':
      return `adapter "${adapter}"'s access rules do not allow your token this request (403)`;
    case 'rate_limited':
      return `over your rate limit for adapter "${adapter}" (429): retry in ${String(response.headers['retry-after'])} s`;
    default:
      return undefined;
  }
}

function sendError(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  id: string,
  message: string,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ id, message });
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'atlas-error': id,
  };
  // What follows an unread body on this connection is unknown.
  if (!req.complete) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}
