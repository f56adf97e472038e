import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { onRequestBytes, startRawUpstream, type RawUpstream } from '../helpers/fault-upstreams';
import { CALLER_AUTH, CALLER_TOKEN, spawnGateway, stopGateway, type GatewayProcess } from '../helpers/gateway';
import { exchangeRaw, send, statusLines, type Received } from '../helpers/http';
import { within } from '../helpers/process-wait';
import { startEchoUpstream, type Upstream } from '../helpers/upstreams';

/**
 * Upstreams that answer with what Node's HTTP client parses but the gateway
 * must not pass on: statuses and reason phrases Node's server refuses to
 * write, failures after the head has arrived, protocol switches nobody asked
 * for, bodies with no end marker. The gateway runs as its own process, so a
 * crash shows as a dead process rather than a broken test runner.
 */

const SECRET = `invalid-response-secret-${randomBytes(16).toString('hex')}`;
const BOUND_MS = 5_000;

/** What each upstream writes once a request has arrived. */
const ANSWERS: Readonly<Record<string, (socket: net.Socket) => void>> = {
  'status-099': (socket) => socket.end('HTTP/1.1 099 X\r\nContent-Length: 2\r\n\r\nhi'),
  'status-000': (socket) => socket.end('HTTP/1.1 000 X\r\nContent-Length: 2\r\n\r\nhi'),
  'reason-0x01': (socket) => socket.end('HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nhi'),
  'reason-0x7f': (socket) => socket.end('HTTP/1.1 200 O\x7fK\r\nContent-Length: 2\r\n\r\nhi'),
  'bad-chunk-after-head': (socket) =>
    socket.write(
      'HTTP/1.1 200 Fine\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\nETag: "v1"\r\n' +
        'Content-Disposition: attachment; filename=export.csv\r\nKeep-Alive: timeout=5\r\n\r\nzz\r\nhello\r\n',
    ),
  'head-with-body': (socket) =>
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: "h1"\r\nContent-Encoding: gzip\r\n\r\nhello'),
  'switching-protocols': (socket) =>
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
  'continue-then-ok': (socket) =>
    socket.end('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'),
  'early-hints-then-ok': (socket) =>
    socket.end(
      'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n' +
        'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok',
    ),
  'identity-until-close': (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Type: text/plain\r\n\r\nhello ');
    setTimeout(() => socket.end('world'), 50);
  },
  'gzip-until-close': (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Type: text/plain\r\n\r\nhello ');
    setTimeout(() => socket.end('world'), 50);
  },
  'no-length-until-close': (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello ');
    setTimeout(() => socket.end('world'), 50);
  },
};

let gateway: GatewayProcess;
let echo: Upstream;
const upstreams: RawUpstream[] = [];

beforeAll(async () => {
  echo = await startEchoUpstream();
  const adapters = [{ name: 'echo', baseUrl: echo.url, headers: [{ name: 'X-Api-Key', value: '${{ SECRET }}' }] }];
  for (const [name, answer] of Object.entries(ANSWERS)) {
    const upstream = await startRawUpstream(onRequestBytes(answer));
    upstreams.push(upstream);
    // A long response timeout: an answer that comes within BOUND_MS did not come from the timeout.
    adapters.push({ name, baseUrl: upstream.url, headers: [{ name: 'X-Api-Key', value: '${{ SECRET }}' }] });
  }
  gateway = await spawnGateway({
    ATLAS_ADAPTERS: JSON.stringify(adapters.map((adapter) => ({ ...adapter, timeoutMs: 30_000 }))),
    ATLAS_ACCESS_TOKENS: CALLER_TOKEN,
    SECRET,
  });
  expect(gateway.url).not.toBe('');
});

afterAll(async () => {
  await stopGateway(gateway);
  for (const upstream of upstreams) await upstream.close();
  await echo?.close();
});

/** The gateway process is alive, healthy and still proxies to a working upstream. */
async function expectStillServing(): Promise<void> {
  expect(gateway.process.exitCode).toBeNull();
  expect(gateway.process.signalCode).toBeNull();
  expect((await send(gateway.url, { path: '/healthz' })).status).toBe(200);
  const proxied = await send(gateway.url, { path: '/v1/apis/http/echo/after', headers: CALLER_AUTH });
  expect(proxied.status).toBe(200);
  expect(echo.seen.at(-1)!.headers['x-api-key']).toBe(SECRET);
}

function expectBadGateway(res: Received, adapter: string): void {
  expect(res.status).toBe(502);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['x-request-id']).toBeDefined();
  expect(res.json()).toEqual({ id: 'bad_gateway', message: expect.stringContaining(`"${adapter}"`) });
  expect(res.text).not.toContain(SECRET);
}

describe('an upstream status or reason phrase that Node cannot write gets a 502 bad_gateway and the gateway keeps serving', () => {
  test.each(['status-099', 'status-000', 'reason-0x01', 'reason-0x7f'])('%s', async (adapter) => {
    const res = await within(
      send(gateway.url, { path: `/v1/apis/http/${adapter}/account`, headers: CALLER_AUTH }),
      BOUND_MS,
      'the answer',
    );
    expectBadGateway(res, adapter);
    await expectStillServing();
  });
});

describe('an error after the upstream head arrived is a response built from nothing', () => {
  test.each([
    ['GET', 'a bad chunk in the same packet as the head', 'bad-chunk-after-head'],
    ['HEAD', 'a body sent in answer to HEAD', 'head-with-body'],
  ])('%s with %s: 502 Bad Gateway with only the gateway own headers', async (method, _what, adapter) => {
    const exchange = await exchangeRaw(
      gateway.url,
      `${method} /v1/apis/http/${adapter}/export HTTP/1.1\r\nHost: gateway\r\nAuthorization: ${CALLER_AUTH.authorization}\r\n\r\n`,
      500,
    );
    const [head, body] = splitMessage(exchange.text);
    const lines = head.split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 502 Bad Gateway');
    const names = lines.slice(1).map((line) => line.slice(0, line.indexOf(':')).toLowerCase());
    expect(names.sort()).toEqual(
      [
        'atlas-error',
        'cache-control',
        'connection',
        'content-length',
        'content-type',
        'date',
        'keep-alive',
        'x-request-id',
      ].filter(
        // The keep-alive hint is Node's own and comes only with a kept connection.
        (name) => name !== 'keep-alive' || names.includes('keep-alive'),
      ),
    );
    const length = Number(header(lines, 'content-length'));
    if (method === 'GET') {
      expect(Buffer.byteLength(body)).toBe(length);
      expect(JSON.parse(body)).toEqual({ id: 'bad_gateway', message: expect.stringContaining(`"${adapter}"`) });
    } else {
      expect(body).toBe('');
    }
    expect(exchange.text).not.toContain(SECRET);
    await expectStillServing();
  });
});

test('an upstream 101 Switching Protocols to a plain request gets a prompt 502 bad_gateway', async () => {
  const res = await within(
    send(gateway.url, { path: '/v1/apis/http/switching-protocols/account', headers: CALLER_AUTH }),
    BOUND_MS,
    'the answer to a request the upstream switched protocols on',
  );
  expectBadGateway(res, 'switching-protocols');
  expect(res.json<{ message: string }>().message).toMatch(/101/);
  await expectStillServing();
});

test.each(['continue-then-ok', 'early-hints-then-ok'])(
  'interim responses (%s) are skipped and the final response is forwarded',
  async (adapter) => {
    const res = await send(gateway.url, { path: `/v1/apis/http/${adapter}/account`, headers: CALLER_AUTH });
    expect(res.status).toBe(200);
    expect(res.text).toBe('ok');
  },
);

describe('a body that ends when the upstream closes reaches a keep-alive client with an end marker', () => {
  test.each(['identity-until-close', 'gzip-until-close', 'no-length-until-close'])('%s', async (adapter) => {
    const agent = new http.Agent({ keepAlive: true });
    try {
      const res = await within(
        send(gateway.url, { path: `/v1/apis/http/${adapter}/stream`, headers: CALLER_AUTH, agent }),
        BOUND_MS,
        'the end of a body whose upstream ended it by closing',
      );
      expect(res.status).toBe(200);
      expect(res.text).toBe('hello world');
      // Framed by the gateway: chunked on a kept connection (or ended by closing it), never the upstream's coding.
      const framing = res.headers['transfer-encoding'];
      if (framing === undefined) expect(res.headers.connection).toBe('close');
      else expect(framing).toBe('chunked');
      expect(res.headers['content-length']).toBeUndefined();
    } finally {
      agent.destroy();
    }
  });
});

function splitMessage(raw: string): [string, string] {
  const end = raw.indexOf('\r\n\r\n');
  expect(end).toBeGreaterThan(0);
  expect(statusLines(raw)).toHaveLength(1);
  return [raw.slice(0, end), raw.slice(end + 4)];
}

function header(lines: readonly string[], name: string): string | undefined {
  const line = lines.find((candidate) => candidate.toLowerCase().startsWith(`${name}:`));
  return line?.slice(name.length + 1).trim();
}
