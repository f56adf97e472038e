import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { AtlasError } from '../http/errors';
import { findRequestContext } from '../http/context';
import { failRequest, REQUEST_ID } from '../http/respond';
import type { BodyMemoryPacer } from './body-memory';
import { forwardableResponseHeaders } from './forward-headers';

/** What Node can write as a reason phrase: visible ASCII, obs-text, spaces and tabs. */
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Relays an upstream response to the caller. A status outside 200–599
 * (interim 1xx responses never get here: Node's client skips 100 and 103,
 * and a 101 is refused before) or a reason phrase with control bytes is a
 * 502, as is any header the gateway cannot write. The head is written one
 * tick later, once the parser is done with the packet that carried it: a
 * parse error in that same packet (a bad chunk, a body after HEAD) then
 * still gets a clean 502 instead of a response that has started. From then
 * on the body streams, and an upstream silent for `bodyIdleTimeoutMs` (while
 * the caller is ready for more) has the caller's connection aborted. A body
 * that has arrived with the head, as most API responses do, is sent at once.
 */
export function relayResponse(
  proxyRes: IncomingMessage,
  req: IncomingMessage,
  res: ServerResponse,
  adapter: { readonly name: string; readonly bodyIdleTimeoutMs: number },
  bodyMemory: BodyMemoryPacer | undefined,
): void {
  if (res.writableEnded || res.destroyed) {
    proxyRes.destroy();
    return;
  }
  const status = proxyRes.statusCode ?? 0;
  const reason = proxyRes.statusMessage ?? '';
  if (status < 200 || status > 599 || !REASON_PHRASE.test(reason)) {
    proxyRes.destroy();
    failRequest(req, res, invalidResponse(adapter.name, `status line (${JSON.stringify(`${status} ${reason}`)})`));
    return;
  }
  const headers = forwardableResponseHeaders(proxyRes.headers);
  if (res.hasHeader('ratelimit')) keepUpstreamRateLimitFields(headers, res);
  const requestId = findRequestContext(req)?.requestId;
  if (requestId !== undefined) headers[REQUEST_ID] = requestId;
  process.nextTick(relayHead, proxyRes, req, res, adapter, bodyMemory, status, reason, headers);
}

function relayHead(
  proxyRes: IncomingMessage,
  req: IncomingMessage,
  res: ServerResponse,
  adapter: { readonly name: string; readonly bodyIdleTimeoutMs: number },
  bodyMemory: BodyMemoryPacer | undefined,
  status: number,
  reason: string,
  headers: OutgoingHttpHeaders,
): void {
  // Failed meanwhile (a parse error, the caller gone): the 502 or the abort is already on its way.
  if (res.headersSent || res.writableEnded || res.destroyed) {
    proxyRes.destroy();
    return;
  }
  try {
    res.writeHead(status, reason, headers);
  } catch (error) {
    proxyRes.destroy();
    failRequest(req, res, invalidResponse(adapter.name, 'response header', error));
    return;
  }
  if (proxyRes.complete) {
    // The whole body has arrived with the head (most API responses): it is sent as it is, in one write.
    relayReceivedBody(proxyRes, res);
    return;
  }
  limitBodyIdleTime(proxyRes, res, adapter.bodyIdleTimeoutMs, () =>
    failRequest(
      req,
      res,
      new AtlasError('gateway_timeout', `The upstream of adapter "${adapter.name}" stalled while sending the body.`, {
        cause: `no body data for ${adapter.bodyIdleTimeoutMs} ms`,
      }),
    ),
  );
  // Only now: a 'data' listener set earlier would start the flow before the pipe.
  bodyMemory?.watch(proxyRes);
  proxyRes.pipe(res);
}

/**
 * Ends the response with the body the upstream has sent in full, read from
 * the response's buffer: what a pipe would do, without setting one up.
 * Reading a finished stream to its end ends it, which hands the upstream
 * connection back to the pool.
 */
function relayReceivedBody(proxyRes: IncomingMessage, res: ServerResponse): void {
  const body = proxyRes.read() as Buffer | null;
  res.end(body ?? undefined);
}

/**
 * Atlas's own `RateLimit` and `RateLimit-Policy` (set before proxying) and an
 * upstream's fields of the same names are both sent, as separate field
 * lines: the upstream's stay untouched, and a client reads the policies by
 * name (Atlas's is "atlas").
 */
function keepUpstreamRateLimitFields(headers: OutgoingHttpHeaders, res: ServerResponse): void {
  for (const field of ['ratelimit', 'ratelimit-policy']) {
    const upstream = headers[field];
    const own = res.getHeader(field);
    if (upstream !== undefined && own !== undefined) headers[field] = [upstream, own].flat().map(String);
  }
}

function invalidResponse(adapter: string, what: string, cause?: unknown): AtlasError {
  return new AtlasError('bad_gateway', `The upstream of adapter "${adapter}" sent an invalid HTTP response.`, {
    cause: cause ?? `invalid ${what}`,
  });
}

/**
 * Calls `expire` once the upstream has sent no body data for `ms` while the
 * caller could take more. A caller that reads slowly (its socket asks the
 * gateway to wait) stops the clock: the pause is then the caller's, and the
 * clock restarts when it drains.
 */
function limitBodyIdleTime(proxyRes: IncomingMessage, res: ServerResponse, ms: number, expire: () => void): void {
  const check = () => {
    if (res.writableNeedDrain) timer.refresh();
    else expire();
  };
  const timer = setTimeout(check, ms);
  const refresh = () => timer.refresh();
  proxyRes.on('data', refresh);
  res.on('drain', refresh);
  const stop = () => {
    clearTimeout(timer);
    res.off('drain', refresh);
  };
  proxyRes.once('end', stop);
  proxyRes.once('close', stop);
}
