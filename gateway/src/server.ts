import { once } from 'node:events';
import http, { type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    logger.debug({ code: error.code }, 'rejected a malformed request');
    if (socket.writable && !socket.destroyed)
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  server.listen(options.port, options.host);
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () => (shuttingDown ??= drain(server, options.shutdownGraceMs, logger, onDrain));
  return { server, url, shutdown };
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
