import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';

/** Listens on 127.0.0.1 on a free port and returns the base URL. */
export async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes a server and every connection it still has. */
export async function close(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = once(server, 'close');
  server.close();
  server.closeAllConnections();
  await closed;
}

export interface SentRequest {
  readonly method?: string;
  /** Sent exactly as given on the request line: no normalization, no encoding. */
  readonly path: string;
  readonly headers?: http.OutgoingHttpHeaders;
  readonly body?: string | Buffer;
  /** Keep-alive agent to use; by default a fresh connection that is closed afterwards. */
  readonly agent?: http.Agent;
}

export interface Received {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  readonly text: string;
  json<T = unknown>(): T;
}

/**
 * Sends one request with node:http, which (unlike fetch) keeps the path's
 * bytes as they are: "..", "//", "%2e" and backslashes reach the gateway
 * untouched, as an attacker would send them.
 */
export function send(baseUrl: string, request: SentRequest): Promise<Received> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: request.method ?? 'GET',
        path: request.path,
        headers: request.headers,
        agent: request.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body,
            text: body.toString('utf8'),
            json: <T>() => JSON.parse(body.toString('utf8')) as T,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

export interface RawExchange {
  /** Every byte the gateway wrote, in order. */
  readonly bytes: Buffer;
  readonly text: string;
  /** How the connection ended: closed by the peer (FIN), reset, or still open when the idle bound passed. */
  readonly ending: 'closed' | 'reset' | 'idle';
}

/**
 * Writes `request` as raw bytes on a new connection (nothing is validated or
 * normalized, so malformed requests reach the server as written) and collects
 * every byte of the answer until the server closes the connection or it has
 * been idle for `idleMs`. `write` may send the request in steps.
 */
export function exchangeRaw(
  baseUrl: string,
  request: string | Buffer | ((socket: net.Socket) => void),
  idleMs = 2_000,
): Promise<RawExchange> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = (ending: RawExchange['ending']) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      const bytes = Buffer.concat(chunks);
      resolve({ bytes, text: bytes.toString('latin1'), ending });
    };
    socket.setTimeout(idleMs, () => settle('idle'));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => settle(error.code === 'ECONNRESET' ? 'reset' : 'closed'));
    socket.on('end', () => settle('closed'));
    socket.on('connect', () => {
      if (typeof request === 'function') request(socket);
      else socket.write(request);
    });
  });
}

/** The status lines found in raw response bytes, in order ("HTTP/1.1 200 OK", ...). */
export function statusLines(raw: string): string[] {
  return [...raw.matchAll(/HTTP\/1\.[01] \d{3}[^\r\n]*/g)].map((match) => match[0]);
}
