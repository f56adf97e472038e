import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type Server } from 'node:http';
import { close, listen } from './http';

/** What an upstream saw of one request, exactly as it arrived. */
export interface Seen {
  readonly method: string;
  /** The request target as received: raw bytes, no decoding. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly bodyLength: number;
  readonly bodySha256: string;
}

export interface Upstream {
  readonly url: string;
  readonly server: Server;
  /** Every request received so far, in order. */
  readonly seen: Seen[];
  close(): Promise<void>;
}

/**
 * An upstream that answers every request with a JSON report of exactly what
 * it received (method, raw URL, headers, body length and digest). A request
 * whose body breaks off is neither answered nor recorded.
 */
export async function startEchoUpstream(): Promise<Upstream> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    readSeen(req).then(
      (report) => {
        seen.push(report);
        const body = JSON.stringify(report);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
      // A body that broke off (the client or a proxy gave up): nothing to report, no one to answer.
      () => res.destroy(),
    );
  });
  const url = await listen(server);
  return { url, server, seen, close: () => close(server) };
}

/** Starts an upstream with a custom handler, recording what it saw before the handler runs. */
export async function startUpstream(handler: http.RequestListener): Promise<Upstream> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({
      method: req.method!,
      url: req.url!,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bodyLength: -1,
      bodySha256: '',
    });
    handler(req, res);
  });
  const url = await listen(server);
  return { url, server, seen, close: () => close(server) };
}

async function readSeen(req: IncomingMessage): Promise<Seen> {
  const hash = createHash('sha256');
  let bodyLength = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bodyLength += chunk.length;
  }
  return {
    method: req.method!,
    url: req.url!,
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    bodyLength,
    bodySha256: hash.digest('hex'),
  };
}
