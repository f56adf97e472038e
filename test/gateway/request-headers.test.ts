import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { CALLER_AUTH, CALLER_TOKEN, startGateway, type InProcessGateway } from '../helpers/gateway';
import { send } from '../helpers/http';
import { startEchoUpstream, type Seen, type Upstream } from '../helpers/upstreams';

const UPSTREAM_TOKEN = 'upstream-token-9d2f4b7a1c3e5f60';
const UPSTREAM_KEY = 'upstream-key-7e1a3c5b';
const ADAPTER_HEADERS = {
  authorization: `Bearer ${UPSTREAM_TOKEN}`,
  accept: 'application/vnd.upstream+json; version=3',
  'x-api-key': UPSTREAM_KEY,
};

let upstream: Upstream;
let gateway: InProcessGateway;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  gateway = await startGateway({
    adapters: [
      {
        name: 'echo',
        baseUrl: upstream.url,
        headers: [
          { name: 'Authorization', value: 'Bearer ${{ UPSTREAM_TOKEN }}' },
          { name: 'Accept', value: ADAPTER_HEADERS.accept },
          { name: 'X-Api-Key', value: '${{UPSTREAM_KEY}}' },
        ],
      },
      { name: 'bare', baseUrl: upstream.url },
    ],
    env: { UPSTREAM_TOKEN, UPSTREAM_KEY },
  });
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

beforeEach(() => {
  upstream.seen.length = 0;
});

/** Every value the upstream received under `name`, whatever its casing, one entry per header line. */
function rawValues(seen: Seen, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < seen.rawHeaders.length; i += 2) {
    if (seen.rawHeaders[i]!.toLowerCase() === name) values.push(seen.rawHeaders[i + 1]!);
  }
  return values;
}

function expectNoCallerCredentials(seen: Seen): void {
  for (const name of ['authorization', 'atlas-accesstoken', 'cookie', 'proxy-authorization']) {
    expect([name, rawValues(seen, name)]).toEqual([name, []]);
  }
  const everything = seen.rawHeaders.join('\n');
  expect(everything).not.toContain(CALLER_TOKEN);
  expect(everything).not.toContain('caller-session-secret');
  expect(everything).not.toContain('Y2FsbGVyOnByb3h5LXNlY3JldA==');
}

interface RawRequest {
  readonly method?: string;
  readonly path: string;
  /** Header lines in order, names with their casing, duplicates kept: `[name, value, name, value, ...]`. */
  readonly rawHeaders: readonly string[];
  /** Written one by one; without a content-length header they go out chunked. */
  readonly chunks?: readonly Buffer[];
}

/**
 * Sends headers exactly as listed (casing and repeats kept, which a header
 * object cannot express) and the body as separate writes.
 */
function sendRaw(baseUrl: string, request: RawRequest): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: request.method ?? 'GET',
        path: request.path,
        headers: ['Host', url.host, ...request.rawHeaders],
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
      },
    );
    req.on('error', reject);
    for (const chunk of request.chunks ?? []) req.write(chunk);
    req.end();
  });
}

describe('adapter headers replace caller headers of the same name, whatever their casing, and appear once', () => {
  test.each([
    ['authorization', ['authorization', `Bearer ${CALLER_TOKEN}`]],
    ['Authorization twice', ['Authorization', `Bearer ${CALLER_TOKEN}`, 'AUTHORIZATION', 'Bearer caller-second']],
    ['Accept', ['Atlas-Accesstoken', CALLER_TOKEN, 'Accept', 'text/html']],
    ['Accept and aCcEpT', ['Atlas-Accesstoken', CALLER_TOKEN, 'Accept', 'text/html', 'aCcEpT', 'application/json']],
    ['X-API-KEY and x-api-key', ['Atlas-Accesstoken', CALLER_TOKEN, 'X-API-KEY', 'caller-key', 'x-api-key', 'k2']],
  ])('caller sends %s', async (_what, rawHeaders) => {
    const res = await sendRaw(gateway.url, { path: '/v1/apis/http/echo/x', rawHeaders });

    expect(res.status).toBe(200);
    const [seen] = upstream.seen;
    for (const [name, value] of Object.entries(ADAPTER_HEADERS)) {
      expect([name, rawValues(seen!, name)]).toEqual([name, [value]]);
    }
  });
});

describe("the caller's credentials never reach the upstream", () => {
  test.each([
    ['Authorization', { authorization: `Bearer ${CALLER_TOKEN}` }],
    ['Atlas-Accesstoken', { 'atlas-accesstoken': CALLER_TOKEN }],
    ['Cookie', { ...CALLER_AUTH, cookie: 'session=caller-session-secret' }],
    ['Proxy-Authorization', { ...CALLER_AUTH, 'proxy-authorization': 'Basic Y2FsbGVyOnByb3h5LXNlY3JldA==' }],
    [
      'all of them at once',
      {
        ...CALLER_AUTH,
        'atlas-accesstoken': CALLER_TOKEN,
        cookie: 'session=caller-session-secret',
        'proxy-authorization': 'Basic Y2FsbGVyOnByb3h5LXNlY3JldA==',
      },
    ],
  ])('%s', async (_what, headers) => {
    const res = await send(gateway.url, { path: '/v1/apis/http/bare/x', headers });

    expect(res.status).toBe(200);
    expectNoCallerCredentials(upstream.seen[0]!);
  });

  test('in any casing', async () => {
    const res = await sendRaw(gateway.url, {
      path: '/v1/apis/http/bare/x',
      rawHeaders: [
        'ATLAS-ACCESSTOKEN',
        CALLER_TOKEN,
        'COOKIE',
        'session=caller-session-secret',
        'Proxy-AUTHORIZATION',
        'Basic Y2FsbGVyOnByb3h5LXNlY3JldA==',
      ],
    });

    expect(res.status).toBe(200);
    expectNoCallerCredentials(upstream.seen[0]!);
  });
});

describe('hop-by-hop headers are not forwarded', () => {
  test.each([
    ['Keep-Alive', 'timeout=5, max=100'],
    ['TE', 'trailers'],
    ['Trailer', 'X-Checksum'],
    ['Upgrade', 'h2c'],
    ['Proxy-Connection', 'keep-alive'],
  ])('%s', async (name, value) => {
    // A chunked body, because a Trailer header only makes sense with one.
    const res = await sendRaw(gateway.url, {
      method: 'POST',
      path: '/v1/apis/http/bare/x',
      rawHeaders: ['Authorization', CALLER_AUTH.authorization, 'Transfer-Encoding', 'chunked', name, value],
      chunks: [Buffer.from('body')],
    });

    expect(res.status).toBe(200);
    const [seen] = upstream.seen;
    expect(rawValues(seen!, name.toLowerCase())).toEqual([]);
    expect(seen!.bodyLength).toBe(4);
  });

  test.each([
    ['close, X-Secret-Hop', ['Connection', 'close, X-Secret-Hop'], 'kept'],
    ['keep-alive, x-secret-hop', ['Connection', 'keep-alive, x-secret-hop'], 'kept'],
    ['X-SECRET-HOP,X-Other-Hop', ['Connection', 'X-SECRET-HOP,X-Other-Hop'], 'dropped'],
    ['on two Connection lines', ['Connection', 'close', 'connection', 'X-Secret-Hop, X-Other-Hop'], 'dropped'],
  ])('headers the caller names in Connection are dropped, others kept (%s)', async (_what, connection, otherHop) => {
    const res = await sendRaw(gateway.url, {
      path: '/v1/apis/http/bare/x',
      rawHeaders: [
        'Authorization',
        CALLER_AUTH.authorization,
        ...connection,
        'X-Secret-Hop',
        'hop-value',
        'X-Other-Hop',
        'other-hop-value',
      ],
    });

    expect(res.status).toBe(200);
    const [seen] = upstream.seen;
    expect(rawValues(seen!, 'x-secret-hop')).toEqual([]);
    expect(rawValues(seen!, 'x-other-hop')).toEqual(otherHop === 'kept' ? ['other-hop-value'] : []);
    expect(rawValues(seen!, 'connection').join().toLowerCase()).not.toContain('hop');
  });
});

describe('a caller cannot remove an adapter header by naming it in Connection', () => {
  test.each([
    ['Authorization', 'authorization', ['Connection', 'close, Authorization']],
    ['Accept', 'accept', ['Connection', 'close, Accept', 'Accept', 'text/html']],
    ['accept in lower case', 'accept', ['Connection', 'accept']],
    ['X-Api-Key', 'x-api-key', ['Connection', 'keep-alive, X-Api-Key', 'X-Api-Key', 'caller-key']],
    ['all of them', 'x-api-key', ['Connection', 'close, Authorization, Accept, X-Api-Key']],
  ])('Connection names %s', async (_what, name, rawHeaders) => {
    const res = await sendRaw(gateway.url, {
      path: '/v1/apis/http/echo/x',
      rawHeaders: ['Authorization', CALLER_AUTH.authorization, ...rawHeaders],
    });

    expect(res.status).toBe(200);
    const [seen] = upstream.seen;
    for (const [adapterHeader, value] of Object.entries(ADAPTER_HEADERS)) {
      expect([adapterHeader, rawValues(seen!, adapterHeader)]).toEqual([adapterHeader, [value]]);
    }
    // A Connection header reaching the upstream must not tell it to drop the adapter's header either.
    expect(rawValues(seen!, 'connection').join().toLowerCase()).not.toContain(name);
  });
});

test.each([
  ['the gateway', {}],
  ['another host', { host: 'api.example.invalid' }],
])("the upstream receives its own Host when the caller's Host names %s", async (_what, headers) => {
  const res = await send(gateway.url, { path: '/v1/apis/http/bare/x', headers: { ...CALLER_AUTH, ...headers } });

  expect(res.status).toBe(200);
  expect(rawValues(upstream.seen[0]!, 'host')).toEqual([new URL(upstream.url).host]);
});

describe('other caller headers pass through unchanged', () => {
  test.each([
    ['X-Custom', 'custom value; with=params, and "quotes"'],
    ['Content-Type', 'application/json; charset=utf-8'],
    ['User-Agent', 'atlas-cli/1.2.3 (linux; x64) node/24'],
    ['If-None-Match', '"0123456789abcdef", W/"weak"'],
    ['If-Modified-Since', 'Mon, 01 Jan 2024 12:00:00 GMT'],
    ['Range', 'id ]01234567-89ab..; max=200'],
    ['Range', 'bytes=0-99'],
    ['Accept', 'application/json'],
    ['Accept-Language', 'en-GB, en;q=0.8'],
  ])('%s: %s', async (name, value) => {
    const res = await send(gateway.url, { path: '/v1/apis/http/bare/x', headers: { ...CALLER_AUTH, [name]: value } });

    expect(res.status).toBe(200);
    expect(rawValues(upstream.seen[0]!, name.toLowerCase())).toEqual([value]);
  });
});

test('the upstream receives the same X-Request-Id the client gets back', async () => {
  const res = await send(gateway.url, { path: '/v1/apis/http/echo/x', headers: CALLER_AUTH });

  expect(res.status).toBe(200);
  const id = res.headers['x-request-id'];
  expect(id).toEqual(expect.any(String));
  expect(rawValues(upstream.seen[0]!, 'x-request-id')).toEqual([id]);
});

describe('request bodies arrive byte-identical', () => {
  const body = randomBytes(512 * 1024 + 7);
  const digest = createHash('sha256').update(body).digest('hex');
  // Uneven pieces so chunk boundaries fall anywhere.
  const pieces = [
    body.subarray(0, 1),
    body.subarray(1, 70_001),
    body.subarray(70_001, 300_000),
    body.subarray(300_000),
  ];

  test.each(['POST', 'PUT', 'PATCH'])('%s with Content-Length', async (method) => {
    const res = await send(gateway.url, {
      method,
      path: '/v1/apis/http/echo/upload',
      headers: { ...CALLER_AUTH, 'content-type': 'application/octet-stream', 'content-length': body.length },
      body,
    });

    expect(res.status).toBe(200);
    const [seen] = upstream.seen;
    expect([seen!.method, seen!.bodyLength, seen!.bodySha256]).toEqual([method, body.length, digest]);
  });

  test.each(['POST', 'PUT', 'PATCH'])('%s chunked', async (method) => {
    const res = await sendRaw(gateway.url, {
      method,
      path: '/v1/apis/http/echo/upload',
      rawHeaders: [
        'Authorization',
        CALLER_AUTH.authorization,
        'Content-Type',
        'application/octet-stream',
        'Transfer-Encoding',
        'chunked',
      ],
      chunks: pieces,
    });

    expect(res.status).toBe(200);
    const [seen] = upstream.seen;
    expect([seen!.method, seen!.bodyLength, seen!.bodySha256]).toEqual([method, body.length, digest]);
  });

  test('POST with an empty body', async () => {
    const res = await send(gateway.url, {
      method: 'POST',
      path: '/v1/apis/http/echo/upload',
      headers: { ...CALLER_AUTH, 'content-length': 0 },
      body: Buffer.alloc(0),
    });

    expect(res.status).toBe(200);
    const [seen] = upstream.seen;
    expect([seen!.method, seen!.bodyLength]).toEqual(['POST', 0]);
  });
});
