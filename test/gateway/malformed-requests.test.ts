import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { CALLER_AUTH, CALLER_TOKEN, spawnGateway, stopGateway, type GatewayProcess } from '../helpers/gateway';
import { exchangeRaw, send, statusLines, type RawExchange } from '../helpers/http';
import { within } from '../helpers/process-wait';
import { startUpstream, type Upstream } from '../helpers/upstreams';

/**
 * Requests Node's parser rejects, or that break off, while the gateway may
 * already be answering them: the gateway's reply never lands inside a
 * response in progress, every rejected request gets the JSON error shape and
 * one log line with the status actually sent.
 */

const REQUEST_TIMEOUT_MS = 1_500;
const BOUND_MS = 10_000;

let upstream: Upstream;
let gateway: GatewayProcess;
/** Fires when the upstream has received a request's head (its body may still be on the way). */
let arrived: (res: ServerResponse) => void = () => {};

beforeAll(async () => {
  upstream = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
    req.on('error', () => {});
    const path = req.url!.split('?')[0];
    if (path === '/early') {
      // Answers at once and streams, while the caller is still uploading.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('early answer ');
    } else if (path === '/after-body') {
      req.resume();
      req.on('end', () => res.end('read it all'));
    }
    arrived(res);
  });
  gateway = await spawnGateway({
    ATLAS_ADAPTERS: JSON.stringify([{ name: 'up', baseUrl: upstream.url }]),
    ATLAS_ACCESS_TOKENS: CALLER_TOKEN,
    ATLAS_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
  });
  expect(gateway.url).not.toBe('');
});

afterAll(async () => {
  await stopGateway(gateway);
  await upstream.close();
});

function uploadHead(path: string): string {
  return (
    `POST /v1/apis/http/up${path} HTTP/1.1\r\nHost: gateway\r\nAuthorization: ${CALLER_AUTH.authorization}\r\n` +
    'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'
  );
}

/** The JSON log lines the gateway has written so far. */
function logLines(): Record<string, unknown>[] {
  return gateway
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function logLineFor(requestId: string): Promise<Record<string, unknown>> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const line = logLines().find((entry) => entry.requestId === requestId && entry.status !== undefined);
    if (line !== undefined) return line;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no log line for request ${requestId}`);
}

/** The one response in `exchange`: head lines and JSON body. */
function onlyResponse(exchange: RawExchange): { lines: string[]; json: unknown; requestId: string } {
  expect(statusLines(exchange.text)).toHaveLength(1);
  const end = exchange.text.indexOf('\r\n\r\n');
  const lines = exchange.text.slice(0, end).split('\r\n');
  const requestId = lines
    .find((line) => /^x-request-id:/i.test(line))
    ?.split(':')[1]
    ?.trim();
  expect(requestId).toBeDefined();
  return { lines, json: JSON.parse(exchange.text.slice(end + 4)) as unknown, requestId: requestId! };
}

describe('once a response has started, a broken request aborts the connection instead of writing into the response', () => {
  test('a bad chunk in an upload whose upstream already streams its answer', async () => {
    const exchange = await within(
      exchangeRaw(gateway.url, (socket) => {
        socket.write(uploadHead('/early'));
        socket.once('data', () => socket.write('zz\r\nnot a chunk\r\n'));
      }),
      BOUND_MS,
      'the exchange',
    );
    expect(statusLines(exchange.text)).toEqual(['HTTP/1.1 200 OK']);
    expect(exchange.text).toContain('early answer');
    expect(exchange.text).not.toMatch(/HTTP\/1\.1 4\d\d/);
    expect(exchange.ending).not.toBe('idle');
  });

  test('an upload that stalls past the request timeout while its upstream already streams', async () => {
    const exchange = await within(
      exchangeRaw(gateway.url, uploadHead('/early'), BOUND_MS),
      BOUND_MS + 1_000,
      'the exchange',
    );
    expect(statusLines(exchange.text)).toEqual(['HTTP/1.1 200 OK']);
    expect(exchange.text).not.toMatch(/HTTP\/1\.1 408/);
    expect(exchange.ending).not.toBe('idle');
  });
});

describe('before the response has started, a broken request is answered with a JSON error and logged with its status', () => {
  test('a bad chunk while the upstream waits for the body: 400 bad_request, Connection: close', async () => {
    const exchange = await exchangeRaw(gateway.url, (socket) => {
      socket.write(uploadHead('/after-body'));
      arrived = () => socket.write('zz\r\nnot a chunk\r\n');
    });
    const { lines, json, requestId } = onlyResponse(exchange);
    expect(lines[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(lines.map((line) => line.toLowerCase())).toContain('connection: close');
    expect(json).toEqual({ id: 'bad_request', message: expect.any(String) });
    expect(await logLineFor(requestId)).toMatchObject({ status: 400, error: 'bad_request' });
  });

  test('an upload that stalls past the request timeout: 408 and a log line that says 408', async () => {
    const exchange = await within(
      exchangeRaw(gateway.url, uploadHead('/after-body'), BOUND_MS),
      BOUND_MS + 1_000,
      'the exchange',
    );
    const { lines, json, requestId } = onlyResponse(exchange);
    expect(lines[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(json).toEqual({ id: 'request_timeout', message: expect.any(String) });
    expect(await logLineFor(requestId)).toMatchObject({ status: 408, error: 'request_timeout' });
  });

  test('oversized request headers: 431 and a log line that says 431', async () => {
    const exchange = await exchangeRaw(
      gateway.url,
      `GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    const { lines, json, requestId } = onlyResponse(exchange);
    expect(lines[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(json).toEqual({ id: 'headers_too_large', message: expect.any(String) });
    expect(lines).toContain('Atlas-Error: headers_too_large');
    expect(await logLineFor(requestId)).toMatchObject({ status: 431, error: 'headers_too_large' });
  });
});

describe('the Host header', () => {
  test('an HTTP/1.1 request without Host gets a JSON 400 with a request id and a log line', async () => {
    const exchange = await exchangeRaw(
      gateway.url,
      `GET /v1/apis/http/up/x HTTP/1.1\r\nAuthorization: ${CALLER_AUTH.authorization}\r\n\r\n`,
    );
    const { lines, json, requestId } = onlyResponse(exchange);
    expect(lines[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(json).toEqual({ id: 'bad_request', message: expect.stringContaining('Host') });
    expect(await logLineFor(requestId)).toMatchObject({
      status: 400,
      error: 'bad_request',
      path: '/v1/apis/http/up/x',
    });
    expect(upstream.seen.map((seen) => seen.url)).not.toContain('/x');
  });

  test('an HTTP/1.0 request may leave Host out', async () => {
    const exchange = await exchangeRaw(gateway.url, 'GET /healthz HTTP/1.0\r\n\r\n');
    expect(statusLines(exchange.text)).toEqual(['HTTP/1.1 200 OK']);
  });
});

describe('what the request log shows of the request target', () => {
  test('an absolute-form target is logged by its path, never with its userinfo or host', async () => {
    const exchange = await exchangeRaw(
      gateway.url,
      `GET http://alice:hunter2@gateway.example/v1/apis/http/up/after-body?q=1 HTTP/1.1\r\nHost: gateway\r\n` +
        `Authorization: ${CALLER_AUTH.authorization}\r\nConnection: close\r\n\r\n`,
    );
    const requestId = /x-request-id: ([^\r]+)/i.exec(exchange.text)?.[1];
    expect(requestId).toBeDefined();
    const line = await logLineFor(requestId!);
    expect(line.path).toBe('/v1/apis/http/up/after-body');
    expect(JSON.stringify(logLines())).not.toContain('hunter2');
  });

  test('a #fragment in the request target is neither forwarded nor logged', async () => {
    const res = await send(gateway.url, { path: '/v1/apis/http/up/after-body?page=2#section', headers: CALLER_AUTH });
    expect(res.status).toBe(200);
    expect(upstream.seen.at(-1)!.url).toBe('/after-body?page=2');
    const line = await logLineFor(res.headers['x-request-id'] as string);
    expect(line.path).toBe('/v1/apis/http/up/after-body');
  });
});

describe('a client that closes an idle keep-alive connection is not a malformed request', () => {
  test.each([
    ['resets it', (socket: net.Socket) => socket.resetAndDestroy()],
    ['closes it', (socket: net.Socket) => socket.end()],
  ])('one that %s after its response: no log line beyond the request itself', async (_case, leave) => {
    const before = logLines().length;
    const socket = net.connect(Number(new URL(gateway.url).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n');
    const [answer] = (await once(socket, 'data')) as [Buffer];
    expect(answer.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK/);
    leave(socket);
    await once(socket, 'close');
    // A healthy request made afterwards is logged after anything the close could have caused.
    await send(gateway.url, { path: '/v1/apis/http/up/after-body', headers: CALLER_AUTH });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const since = logLines().slice(before);
    // The health check and the request after it: nothing about the closed connection.
    expect(since.map((line) => [line.msg, line.status])).toEqual([
      ['request', 200],
      ['request', 200],
    ]);
  });
});

/** Writes `packets` on the socket one after another, `pauseMs` apart, so that they arrive as separate packets. */
function writeApart(packets: readonly string[], pauseMs = 50): (socket: net.Socket) => void {
  return (socket) => {
    socket.setNoDelay(true);
    packets.forEach((packet, index) =>
      setTimeout(() => socket.writable && socket.write(packet, 'latin1'), index * pauseMs),
    );
  };
}

describe('regression: an Expect other than 100-continue got Node bare 417 (no JSON, no request id, no log line)', () => {
  test.each(['x-unknown', '200-ok', ''])(
    'Expect: %j gets 417 expectation_failed in JSON, logged',
    async (expectation) => {
      const exchange = await exchangeRaw(
        gateway.url,
        `GET /v1/apis/http/up/after-body HTTP/1.1\r\nHost: gateway\r\nAuthorization: ${CALLER_AUTH.authorization}\r\n` +
          `Expect: ${expectation}\r\nConnection: close\r\n\r\n`,
      );
      const { lines, json, requestId } = onlyResponse(exchange);
      expect(lines[0]).toBe('HTTP/1.1 417 Expectation Failed');
      const lower = lines.map((line) => line.toLowerCase());
      expect(lower).toContain('atlas-error: expectation_failed');
      expect(lower).toContain('content-type: application/json; charset=utf-8');
      expect(json).toEqual({ id: 'expectation_failed', message: expect.stringContaining('100-continue') });
      expect(await logLineFor(requestId)).toMatchObject({ status: 417, error: 'expectation_failed' });
      expect(upstream.seen.map((seen) => seen.headers.expect)).not.toContain(expectation);
    },
  );

  test('Expect: 100-continue still gets 100 Continue and the request is proxied', async () => {
    const exchange = await exchangeRaw(gateway.url, (socket) => {
      socket.write(
        `POST /v1/apis/http/up/after-body HTTP/1.1\r\nHost: gateway\r\nAuthorization: ${CALLER_AUTH.authorization}\r\n` +
          'Expect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n',
      );
      socket.once('data', () => socket.write('hello'));
    });
    expect(statusLines(exchange.text)).toEqual(['HTTP/1.1 100 Continue', 'HTTP/1.1 200 OK']);
    expect(exchange.text).toContain('read it all');
  });
});

describe('regression: an unknown method whose request line came in several packets was judged on the first packet only', () => {
  test.each([
    ['a well-formed line with an unknown method', ['FO', 'O /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n'], 405, 'FOO'],
    [
      'a method cut where the parser still took it for TRACE',
      ['TRA', 'CK /healthz HT', 'TP/1.1\r\n\r\n'],
      405,
      'method',
    ],
    [
      'an unknown method in one packet, as before',
      ['PROPFOO /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n'],
      405,
      'PROPFOO',
    ],
    ['a line that turns out not to be HTTP', ['FOO /heal', 'thz\x01 HTTP/1.1\r\n\r\n'], 400, 'not valid HTTP'],
    ['a line with an unknown HTTP version', ['FOO /healthz', ' HTTP/2.0\r\n\r\n'], 400, 'not valid HTTP'],
  ])('%s: %j gets %i', async (_what, packets, status, named) => {
    const exchange = await within(exchangeRaw(gateway.url, writeApart(packets)), BOUND_MS, 'the answer');
    const { lines, json, requestId } = onlyResponse(exchange);
    expect(lines[0]).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    const id = status === 405 ? 'method_not_allowed' : 'bad_request';
    expect(json).toEqual({ id, message: expect.stringContaining(named) });
    expect(lines).toContain(`Atlas-Error: ${id}`);
    if (status === 405) expect(lines).toContain('Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    expect(await logLineFor(requestId)).toMatchObject({ status, error: id });
  });

  test('a request line that stalls part-way gets 408 once the headers timeout passes', async () => {
    const exchange = await within(
      exchangeRaw(gateway.url, writeApart(['FOO /hea']), BOUND_MS),
      BOUND_MS + 1_000,
      'the answer',
    );
    const { lines, json } = onlyResponse(exchange);
    expect(lines[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(json).toEqual({ id: 'request_timeout', message: expect.any(String) });
  });

  test('what is buffered of such a line is capped: past 16 KiB it gets 431', async () => {
    const exchange = await within(
      exchangeRaw(gateway.url, writeApart(['FO', `O /${'a'.repeat(8_000)}`, 'a'.repeat(9_000)])),
      BOUND_MS,
      'the answer',
    );
    const { lines, json } = onlyResponse(exchange);
    expect(lines[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(json).toEqual({ id: 'headers_too_large', message: expect.any(String) });
  });
});

describe('regression: the answer to a malformed request was lost to a reset when the client kept sending', () => {
  test('the gateway reads and drops what follows its answer, and the connection ends without a reset', async () => {
    // Like a client busy uploading, it goes on sending after the gateway's answer and end of stream.
    const socket = net.connect({ port: Number(new URL(gateway.url).port), host: '127.0.0.1', allowHalfOpen: true });
    socket.setNoDelay(true);
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = new Promise<string>((resolve) => {
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      socket.on('close', () => resolve('closed'));
    });
    await once(socket, 'connect');
    socket.write('GET /\x01 HTTP/1.1\r\n', 'latin1');
    await once(socket, 'end');
    for (let packet = 0; packet < 10; packet += 1) {
      socket.write(`X-More-${packet}: ${'m'.repeat(1_000)}\r\n`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    socket.end();
    expect(await within(ended, BOUND_MS, 'the end of the connection')).toBe('closed');
    const text = Buffer.concat(received).toString('latin1');
    expect(statusLines(text)).toEqual(['HTTP/1.1 400 Bad Request']);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({
      id: 'bad_request',
      message: expect.any(String),
    });
  });
});
