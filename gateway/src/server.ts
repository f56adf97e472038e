import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http, { type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';

export interface ServerOptions {
  readonly port: number;
  readonly host: string;
  /** How long in-flight requests may take to finish once shutdown begins. */
  readonly shutdownGraceMs: number;
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
 * body included, so it is generous enough for large uploads.
 */
const SERVER_TIMEOUTS = {
  headersTimeout: 20_000,
  requestTimeout: 300_000,
  keepAliveTimeout: 65_000,
  connectionsCheckingInterval: 5_000,
} satisfies http.ServerOptions;

export async function startServer(
  listener: RequestListener,
  options: ServerOptions,
  logger: Logger,
  onDrain: () => void = () => {},
): Promise<RunningServer> {
  const server = http.createServer(SERVER_TIMEOUTS, listener);
  server.keepAliveTimeout = SERVER_TIMEOUTS.keepAliveTimeout;
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => answerMalformedRequest(error, socket, logger));

  server.listen(options.port, options.host);
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () => (shuttingDown ??= drain(server, options.shutdownGraceMs, logger, onDrain));
  return { server, url, shutdown };
}

/** Requests Node's parser rejects still get the gateway's JSON error and a request id. */
const CLIENT_ERRORS: Readonly<Record<string, readonly [number, string, string]>> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'The request headers are too large.'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'The request was not received in time.'],
};

function answerMalformedRequest(error: NodeJS.ErrnoException, socket: Duplex, logger: Logger): void {
  const requestId = randomUUID();
  logger.info({ requestId, status: 400, error: 'bad_request', cause: error.code }, 'rejected a malformed request');
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [status, reason, message] = CLIENT_ERRORS[error.code ?? ''] ?? [
    400,
    'Bad Request',
    'The request is not valid HTTP.',
  ];
  const body = JSON.stringify({ id: 'bad_request', message });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}

async function drain(server: http.Server, graceMs: number, logger: Logger, onDrain: () => void): Promise<void> {
  onDrain();
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
