import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { HTTP_METHODS } from './config/schema';
import { AtlasError, type ErrorId } from './http/errors';
import { toOriginForm } from './http/request-target';
import { failRequest } from './http/respond';
import { DEFAULT_REQUEST_TIMEOUT_MS } from './settings';

export interface ServerOptions {
  readonly port: number;
  readonly host: string;
  /** How long in-flight requests may take to finish once shutdown begins. */
  readonly shutdownGraceMs: number;
  /** How long a client may take to send a whole request, body included (default 300 s). */
  readonly requestTimeoutMs?: number;
}

export interface RunningServer {
  readonly server: http.Server;
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish within the grace period, then closes every connection. */
  shutdown(): Promise<void>;
}

/**
 * Timeouts against slow or idle clients. Keep-alive outlives the ALB's 60 s
 * idle timeout, so the load balancer (not the gateway) closes idle
 * connections and never reuses one the gateway has just closed (a 502).
 * The request timeout bounds how long a client may take to send a request,
 * body included, so by default it is generous enough for large uploads.
 */
const HEADERS_TIMEOUT_MS = 20_000;
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const CONNECTIONS_CHECKING_INTERVAL_MS = 5_000;

/** The response whose handling is running: what the last-resort guard fails on an uncaught exception. */
const responseInProgress = new AsyncLocalStorage<ServerResponse>();

/** The response being handled where the caller runs, if any (see `serve.ts`). */
export function currentResponse(): ServerResponse | undefined {
  return responseInProgress.getStore();
}

export async function startServer(
  listener: RequestListener,
  options: ServerOptions,
  logger: Logger,
): Promise<RunningServer> {
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const inFlight = new Set<ServerResponse>();
  let draining = false;

  const server = http.createServer(
    {
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeout),
      requestTimeout,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(CONNECTIONS_CHECKING_INTERVAL_MS, requestTimeout),
      // The app answers a missing Host itself, in JSON and in the log.
      requireHostHeader: false,
    },
    (req, res) => {
      // While draining, ask keep-alive clients to reconnect elsewhere.
      if (draining) res.setHeader('connection', 'close');
      else {
        inFlight.add(res);
        res.once('close', () => inFlight.delete(res));
      }
      // Routing sees the origin form: the path, never a scheme, userinfo, host or fragment.
      const target = req.url!;
      if (target[0] !== '/' || target.includes('#')) req.url = toOriginForm(target);
      responseInProgress.run(res, listener, req, res);
    },
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => answerMalformedRequest(error, socket, logger));
  server.on('connect', (req: IncomingMessage, socket: Duplex) => refuseConnect(req, socket, logger));

  server.listen(options.port, options.host);
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () =>
    (shuttingDown ??= (() => {
      draining = true;
      // Responses not yet started carry Connection: close; the rest end their connection when done.
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      inFlight.clear();
      return drain(server, options.shutdownGraceMs, logger);
    })());
  return { server, url, shutdown };
}

type Refusal = readonly [ErrorId, string];

/** What the gateway answers to requests Node's parser rejects, by error code. */
const CLIENT_ERRORS: Readonly<Record<string, Refusal>> = {
  HPE_HEADER_OVERFLOW: ['headers_too_large', 'The request headers are too large.'],
  ERR_HTTP_REQUEST_TIMEOUT: ['request_timeout', 'The request was not received in time.'],
};
const NOT_HTTP: Refusal = ['bad_request', 'The request is not valid HTTP.'];
const ALL_METHODS = HTTP_METHODS.join(', ');
/** A request line with a well-formed method the parser does not know (TRACK, say). */
const UNKNOWN_METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP\/1\.[01]\r?\n/;

/**
 * Answers a request Node's parser rejected, the gateway's way: a JSON error
 * with a request id and a log line with the status sent. Nothing is ever
 * written into a response in progress. When the request being served is the
 * one at fault (its body is malformed or late), it is failed through the
 * app: a JSON error if its response has not started, a cut connection if it
 * has. When it is not (the bytes after it are), its response completes and
 * the connection closes after it. An error that is not malformed HTTP (a
 * reset) just closes the connection.
 */
function answerMalformedRequest(error: NodeJS.ErrnoException, socket: Duplex, logger: Logger): void {
  const refusal = refusalFor(error);
  if (refusal === undefined || !socket.writable) {
    socket.destroy();
    return;
  }
  const [id, message] = refusal;
  const res = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
  if (res === undefined) {
    const headers = id === 'method_not_allowed' ? { allow: ALL_METHODS } : undefined;
    writeRawError(socket, new AtlasError(id, message, { headers }), logger, { cause: error.code });
  } else if (!res.req.complete) {
    failRequest(res.req, res, new AtlasError(id, message, { cause: error }));
  } else if (!res.headersSent) {
    res.setHeader('connection', 'close');
  } else {
    res.once('finish', () => socket.end());
  }
}

function refusalFor(error: NodeJS.ErrnoException): Refusal | undefined {
  const code = error.code ?? '';
  const known = CLIENT_ERRORS[code];
  if (known !== undefined) return known;
  if (!code.startsWith('HPE_')) return undefined;
  if (code === 'HPE_INVALID_METHOD') {
    const packet = (error as { rawPacket?: Buffer }).rawPacket?.toString('latin1') ?? '';
    const method = UNKNOWN_METHOD.exec(packet) === null ? undefined : packet.slice(0, packet.indexOf(' '));
    if (method !== undefined)
      return ['method_not_allowed', `${method.slice(0, 32)} is not allowed; use ${ALL_METHODS}.`];
  }
  return NOT_HTTP;
}

/** CONNECT asks for a tunnel, which the gateway never opens. */
function refuseConnect(req: IncomingMessage, socket: Duplex, logger: Logger): void {
  socket.on('error', () => socket.destroy());
  writeRawError(
    socket,
    new AtlasError('method_not_allowed', `CONNECT is not allowed; use ${ALL_METHODS}.`, {
      headers: { allow: ALL_METHODS },
    }),
    logger,
    { method: req.method },
  );
}

/** Writes a JSON error on a socket no response object owns, closes it and logs the refusal. */
function writeRawError(socket: Duplex, error: AtlasError, logger: Logger, fields: Record<string, unknown>): void {
  const requestId = randomUUID();
  logger.info({ requestId, ...fields, status: error.status, error: error.id }, 'rejected a malformed request');
  const body = JSON.stringify({ id: error.id, message: error.message });
  const extra = Object.entries(error.headers ?? {})
    .map(([name, value]) => `${name[0]!.toUpperCase()}${name.slice(1)}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${error.status} ${http.STATUS_CODES[error.status]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}X-Request-Id: ${requestId}\r\nAtlas-Error: ${error.id}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}

async function drain(server: http.Server, graceMs: number, logger: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Connections go idle as their last response ends: close them as they do.
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), graceMs);
  });
  const outcome = await Promise.race([closed, expired]);
  clearInterval(sweep);
  clearTimeout(timer);
  if (outcome === 'expired') {
    logger.warn({ graceMs }, 'shutdown grace period over: closing the connections still open');
    server.closeAllConnections();
    await closed;
  }
}
