import { randomBytes } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type net from 'node:net';
import { refusedUrl, onRequestBytes, startRawUpstream, type RawUpstream } from '../helpers/fault-upstreams';
import { CALLER_AUTH, startGateway, type InProcessGateway } from '../helpers/gateway';
import { send, type Received } from '../helpers/http';
import { within } from '../helpers/process-wait';
import { startEchoUpstream, startUpstream, type Upstream } from '../helpers/upstreams';

const SECRET = `fault-secret-${randomBytes(16).toString('hex')}`;
const BODY_CHUNK = Buffer.alloc(64 * 1024, 'z');
const DECLARED_LENGTH = 1_000_000;

/** One upstream request that reached the long-running upstream, and whether its connection has gone. */
interface Held {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly closed: Promise<void>;
}

let gateway: InProcessGateway;
let echo: Upstream;
let slow: Upstream;
let hangingSockets: RawUpstream;
const rawUpstreams: RawUpstream[] = [];
let heldArrived: (held: Held) => void = () => {};

async function raw(onConnection: (socket: net.Socket) => void): Promise<string> {
  const upstream = await startRawUpstream(onConnection);
  rawUpstreams.push(upstream);
  return upstream.url;
}

/** Writes the body until the connection goes away, as a large download would. */
function streamForever(res: ServerResponse): void {
  const pump = () => {
    while (!res.destroyed && res.write(BODY_CHUNK));
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
}

/** Upstreams that send the head and part of the body, then wait for the test to reset them. */
const midBody = {} as Record<'length' | 'chunked', RawUpstream>;

beforeAll(async () => {
  echo = await startEchoUpstream();
  slow = await startUpstream((req, res) => {
    const entry: Held = { req, res, closed: new Promise((resolve) => res.once('close', resolve)) };
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      streamForever(res);
    }
    heldArrived(entry);
  });
  // Reads (and so notices the connection closing) but never answers.
  hangingSockets = await startRawUpstream((socket) => socket.resume());
  rawUpstreams.push(hangingSockets);
  midBody.length = await startRawUpstream(
    onRequestBytes((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${DECLARED_LENGTH}\r\n\r\n`);
      socket.write('a'.repeat(1000));
    }),
  );
  midBody.chunked = await startRawUpstream(
    onRequestBytes((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n');
      socket.write(`${(1000).toString(16)}\r\n${'a'.repeat(1000)}\r\n`);
    }),
  );
  rawUpstreams.push(midBody.length, midBody.chunked);

  const adapter = (name: string, baseUrl: string, timeoutMs = 10_000) => ({
    name,
    baseUrl,
    headers: [{ name: 'X-Api-Key', value: '${{ FAULT_SECRET }}' }],
    timeoutMs,
  });
  gateway = await startGateway({
    env: { FAULT_SECRET: SECRET },
    adapters: [
      adapter('echo', echo.url),
      adapter('refused', await refusedUrl()),
      adapter('closes', await raw(onRequestBytes((socket) => socket.destroy()))),
      adapter('resets', await raw(onRequestBytes((socket) => socket.resetAndDestroy()))),
      adapter('hangs', hangingSockets.url, 300),
      adapter('midbody-length', midBody.length.url),
      adapter('midbody-chunked', midBody.chunked.url),
      adapter('slow', slow.url, 60_000),
      adapter('not-http', await raw(onRequestBytes((socket) => socket.end('this is not an HTTP response\r\n\r\n')))),
      adapter('bad-status', await raw(onRequestBytes((socket) => socket.end('HTTP/1.1 2x0 OK\r\n\r\n')))),
      adapter(
        'bad-header',
        await raw(
          onRequestBytes((socket) => socket.end('HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 0\r\n\r\n')),
        ),
      ),
      adapter(
        'two-lengths',
        await raw(
          onRequestBytes((socket) =>
            socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nhello'),
          ),
        ),
      ),
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  for (const upstream of rawUpstreams) await upstream.close();
  await slow?.close();
  await echo?.close();
});

function expectErrorBody(res: Received, status: number, id: string, adapter: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['x-request-id']).toBeDefined();
  expect(res.json()).toEqual({ id, message: expect.stringContaining(`"${adapter}"`) });
  expect(res.text).not.toContain(SECRET);
  expect(gateway.logLines.join('\n')).not.toContain(SECRET);
}

/** The gateway survived the fault: it is healthy and still proxies to a working upstream. */
async function expectStillServing(): Promise<void> {
  const health = await send(gateway.url, { path: '/healthz' });
  expect(health.status).toBe(200);
  expect(health.json()).toEqual({ status: 'ok' });
  const proxied = await send(gateway.url, { path: '/v1/apis/http/echo/after-fault', headers: CALLER_AUTH });
  expect(proxied.status).toBe(200);
  // The secret the error bodies must not leak is really injected into upstream requests.
  expect(echo.seen.at(-1)!.headers['x-api-key']).toBe(SECRET);
}

interface Outcome {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly bytes: number;
  /** True only if the body ended cleanly with everything its framing announced. */
  readonly complete: boolean;
}

/**
 * Sends a request and reports how its response ended, whether cleanly or cut
 * short. `onFirstBytes` runs once the first body bytes have reached the client.
 */
function exchange(path: string, onFirstBytes: () => void): Promise<Outcome> {
  const url = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, headers: CALLER_AUTH, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      let bytes = 0;
      let settled = false;
      const settle = (complete: boolean) => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode!, headers: res.headers, bytes, complete });
      };
      res.on('data', (chunk: Buffer) => {
        if (bytes === 0) onFirstBytes();
        bytes += chunk.length;
      });
      res.on('end', () => settle(res.complete));
      res.on('error', () => settle(false));
      res.on('close', () => settle(res.complete && res.readableEnded));
    });
    req.end();
  });
}

test('an upstream that refuses the connection gets the caller a 502 bad_gateway', async () => {
  const res = await send(gateway.url, { path: '/v1/apis/http/refused/account', headers: CALLER_AUTH });
  expectErrorBody(res, 502, 'bad_gateway', 'refused');
  await expectStillServing();
});

test.each([
  ['closes the connection (FIN)', 'closes'],
  ['resets the connection (RST)', 'resets'],
])('an upstream that accepts and then %s before answering gets the caller a 502 bad_gateway', async (_how, name) => {
  const res = await send(gateway.url, { path: `/v1/apis/http/${name}/account`, headers: CALLER_AUTH });
  expectErrorBody(res, 502, 'bad_gateway', name);
  await expectStillServing();
});

test('an upstream that never answers gets a 504 gateway_timeout after timeoutMs, and the gateway closes that upstream connection', async () => {
  const before = hangingSockets.sockets.length;
  const res = await send(gateway.url, { path: '/v1/apis/http/hangs/account', headers: CALLER_AUTH });
  expectErrorBody(res, 504, 'gateway_timeout', 'hangs');

  const socket = hangingSockets.sockets[before];
  expect(socket).toBeDefined();
  if (!socket!.closed) await within(new Promise((resolve) => socket!.once('close', resolve)), 5_000, 'upstream close');
  expect(socket!.closed).toBe(true);
  await expectStillServing();
});

test.each([
  ['a Content-Length', 'length'],
  ['a chunked', 'chunked'],
] as const)(
  'an upstream that resets in the middle of %s body leaves the client with a truncated response, not a complete one',
  async (_framing, framing) => {
    const upstream = midBody[framing];
    const before = upstream.sockets.length;
    const outcome = await exchange(`/v1/apis/http/midbody-${framing}/export`, () => {
      // Reset only once the client holds the status and first bytes, so the failure is mid-body.
      upstream.sockets[before]!.resetAndDestroy();
    });
    expect(outcome.status).toBe(200);
    expect(outcome.bytes).toBeGreaterThan(0);
    expect(outcome.complete).toBe(false);
    if (framing === 'length') expect(outcome.bytes).toBeLessThan(DECLARED_LENGTH);
    await expectStillServing();
  },
);

test.each([
  ['before the upstream has answered', '/hang'],
  ['while the upstream streams the response body', '/stream'],
])('a client that disconnects %s makes the gateway abort its upstream request', async (_when, path) => {
  const arrived = new Promise<Held>((resolve) => (heldArrived = resolve));
  const url = new URL(gateway.url);
  const req = http.request({
    host: url.hostname,
    port: url.port,
    path: `/v1/apis/http/slow${path}`,
    headers: CALLER_AUTH,
    agent: false,
  });
  req.on('error', () => {});
  const firstBytes = new Promise<void>((resolve) => req.on('response', (res) => res.once('data', () => resolve())));
  req.end();

  const upstreamRequest = await within(arrived, 5_000, 'the request reaching the upstream');
  if (path === '/stream') await within(firstBytes, 5_000, 'the first body bytes reaching the client');
  req.destroy();

  await within(upstreamRequest.closed, 5_000, "the upstream request's connection closing");
  expect(upstreamRequest.res.writableFinished).toBe(false);
  await expectStillServing();
});

test.each([
  ['is not HTTP at all', 'not-http'],
  ['has an invalid status code', 'bad-status'],
  ['has a header line without a colon', 'bad-header'],
  ['has two different Content-Length headers', 'two-lengths'],
])('an upstream response that %s gets the caller a 502 bad_gateway', async (_what, name) => {
  const res = await send(gateway.url, { path: `/v1/apis/http/${name}/account`, headers: CALLER_AUTH });
  expectErrorBody(res, 502, 'bad_gateway', name);
  await expectStillServing();
});
