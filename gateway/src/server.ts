import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { HTTP_METHODS } from './config/schema';
import { GatewayRequest } from './http/context';
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
  // One listener function for every response: nothing is created per request.
  function settled(this: ServerResponse): void {
    inFlight.delete(this);
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    // While draining, ask keep-alive clients to reconnect elsewhere.
    if (draining) res.setHeader('connection', 'close');
    else {
      inFlight.add(res);
      res.on('close', settled);
    }
    // Routing sees the origin form: the path, never a scheme, userinfo, host or fragment.
    const target = req.url!;
    if (target[0] !== '/' || target.includes('#')) req.url = toOriginForm(target);
    responseInProgress.run(res, listener, req, res);
  };
  const server = http.createServer(
    {
      IncomingMessage: GatewayRequest,
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeout),
      requestTimeout,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(CONNECTIONS_CHECKING_INTERVAL_MS, requestTimeout),
      // The app answers a missing Host itself, in JSON and in the log.
      requireHostHeader: false,
    },
    handle,
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Without a listener Node answers an Expect other than 100-continue with a bare 417 that is
  // neither JSON nor logged; with one, the app refuses it like any other error (see app.ts).
  server.on('checkExpectation', handle);
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
const LINE_TOO_LONG: Refusal = ['headers_too_large', 'The request line is too long.'];
const ALL_METHODS = HTTP_METHODS.join(', ');
/** As much of a refused request line as is buffered to judge it: Node's own limit for a request head. */
const MAX_REQUEST_LINE = 16 * 1024;
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]";
const TARGET = '[\\x21-\\x7e\\x80-\\xff]';
/** A well-formed request line; its method may be empty when it began in a packet already parsed. */
const REQUEST_LINE = new RegExp(`^(${TOKEN}*) ${TARGET}+ HTTP/1\\.[01]\\r?$`);
const METHOD_SO_FAR = new RegExp(`^${TOKEN}*$`);
const TARGET_SO_FAR = new RegExp(`^${TARGET}*$`);

/** The request line of a connection whose method Node's parser refused, as received so far. */
interface PendingLine {
  text: string;
  /** The method began in a packet the parser had already taken: its first bytes are not in `text`. */
  readonly cut: boolean;
}

const PENDING_LINE = Symbol('atlas.pendingRequestLine');
const ANSWERED = Symbol('atlas.answeredMalformedRequest');

type ClientSocket = Duplex & { bytesRead?: number; [PENDING_LINE]?: PendingLine; [ANSWERED]?: true };

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
function answerMalformedRequest(error: NodeJS.ErrnoException, socket: ClientSocket, logger: Logger): void {
  const code = error.code ?? '';
  if (socket[ANSWERED] === true) {
    // The answer is on its way: what the client still sends is read and dropped, since closing
    // now would reset the connection and could destroy the answer before the client reads it.
    // The headers timeout ends the wait.
    if (!code.startsWith('HPE_')) socket.destroy();
    return;
  }
  const res = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
  const packet = (error as { rawPacket?: Buffer }).rawPacket;
  if (res === undefined && socket.writable && packet !== undefined) {
    if (socket[PENDING_LINE] !== undefined) {
      // The parser stays failed and hands over each later packet as another error.
      socket[PENDING_LINE].text += packet.toString('latin1', 0, Math.min(packet.length, MAX_REQUEST_LINE + 1));
      judgeRequestLine(socket, code, logger);
      return;
    }
    if (code === 'HPE_INVALID_METHOD') {
      socket[PENDING_LINE] = startRequestLine(error, packet, socket.bytesRead ?? 0);
      judgeRequestLine(socket, code, logger);
      return;
    }
  }
  const refusal = refusalFor(code);
  if (refusal === undefined || !socket.writable) {
    socket.destroy();
    return;
  }
  const [id, message] = refusal;
  if (res === undefined) {
    writeRawError(socket, new AtlasError(id, message), logger, { cause: code });
  } else if (!res.req.complete) {
    failRequest(res.req, res, new AtlasError(id, message, { cause: error }));
  } else if (!res.headersSent) {
    res.setHeader('connection', 'close');
  } else {
    res.once('finish', () => socket.end());
  }
}

function refusalFor(code: string): Refusal | undefined {
  const known = CLIENT_ERRORS[code];
  if (known !== undefined) return known;
  return code.startsWith('HPE_') ? NOT_HTTP : undefined;
}

/**
 * The request line the parser refused, from the packet it failed on: from
 * the last line end before the failing byte (`bytesParsed`), so the end of an
 * earlier request in the same packet is left out, and without the empty lines
 * HTTP allows before a request.
 */
function startRequestLine(error: NodeJS.ErrnoException, packet: Buffer, bytesRead: number): PendingLine {
  const text = packet.toString('latin1', 0, Math.min(packet.length, MAX_REQUEST_LINE * 2));
  const failedAt = Math.min(Number((error as { bytesParsed?: number }).bytesParsed ?? 0), text.length);
  const start = failedAt < 2 ? 0 : text.lastIndexOf('\n', failedAt - 2) + 1;
  const cut = start === 0 && bytesRead > packet.length;
  return { text: text.slice(start).replace(/^[\r\n]+/, ''), cut };
}

/**
 * Judges a refused request line once it is whole, never on part of it: a
 * well-formed line with a method the parser does not know (TRACK, say) gets
 * 405, anything else 400, as soon as it can no longer become a well-formed
 * line. A line that is still coming waits, up to the headers timeout (408)
 * and MAX_REQUEST_LINE bytes (431).
 */
function judgeRequestLine(socket: ClientSocket, code: string, logger: Logger): void {
  const pending = socket[PENDING_LINE]!;
  const end = pending.text.indexOf('\n');
  let error: AtlasError;
  if (end !== -1 && end <= MAX_REQUEST_LINE) {
    const line = REQUEST_LINE.exec(pending.text.slice(0, end));
    const method = line?.[1];
    if (line === null || (method === '' && !pending.cut)) error = new AtlasError(...NOT_HTTP);
    else {
      const named = pending.cut ? 'This method' : method!.slice(0, 32);
      error = new AtlasError('method_not_allowed', `${named} is not allowed; use ${ALL_METHODS}.`, {
        headers: { allow: ALL_METHODS },
      });
    }
  } else if (!couldBeRequestLine(pending.text.slice(0, MAX_REQUEST_LINE + 1), pending.cut)) {
    error = new AtlasError(...NOT_HTTP);
  } else if (pending.text.length > MAX_REQUEST_LINE) {
    error = new AtlasError(...LINE_TOO_LONG);
  } else {
    return;
  }
  socket[PENDING_LINE] = undefined;
  writeRawError(socket, error, logger, { cause: code });
}

/** Whether the bytes of a request line received so far can still become a well-formed one. */
function couldBeRequestLine(text: string, cut: boolean): boolean {
  const parts = text.split(' ');
  if (parts.length > 3) return false;
  const [method, target, version] = parts;
  if (!METHOD_SO_FAR.test(method!) || (parts.length > 1 && method === '' && !cut)) return false;
  if (target !== undefined && (!TARGET_SO_FAR.test(target) || (version !== undefined && target === ''))) return false;
  return version === undefined || 'HTTP/1.1\r'.startsWith(version) || 'HTTP/1.0\r'.startsWith(version);
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
function writeRawError(socket: ClientSocket, error: AtlasError, logger: Logger, fields: Record<string, unknown>): void {
  socket[ANSWERED] = true;
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
