import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { OutgoingHttpHeaders } from 'node:http';
import { CALLER_AUTH, startGateway, type InProcessGateway } from '../helpers/gateway';
import { send } from '../helpers/http';
import { startUpstream, type Upstream } from '../helpers/upstreams';

interface Canned {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;
  /** Sent with Content-Length, or as separate chunks without one. */
  readonly body?: Buffer | string;
  readonly chunks?: readonly Buffer[];
}

/** Stands for the upstream's own origin in header values, so redirects to itself can be checked. */
const SELF = '{self}';

const BINARY = randomBytes(1024 * 1024 + 13);
const BINARY_SHA256 = createHash('sha256').update(BINARY).digest('hex');

const SUCCESSES: Record<string, Canned> = {
  '/ok': {
    status: 200,
    headers: {
      'content-type': 'application/vnd.heroku+json; version=3',
      etag: '"0123456789abcdef"',
      'ratelimit-remaining': '4321',
      'request-id': '4f1c2b3a-5d6e-4f70-8a9b-0c1d2e3f4a5b',
      'x-custom-upstream': 'custom; value="quoted", more',
      'cache-control': 'private, no-cache',
      vary: 'Accept, Range',
      'last-modified': 'Mon, 01 Jan 2024 12:00:00 GMT',
    },
    body: '{"id":"01234567-89ab-cdef-0123-456789abcdef","email":"username@example.com"}',
  },
  '/created': {
    status: 201,
    headers: { location: `${SELF}/apps/123`, 'content-type': 'application/json', 'x-custom-upstream': 'made' },
    body: '{"id":"123"}',
  },
  '/apps': {
    status: 206,
    headers: {
      'content-type': 'application/json',
      'accept-ranges': 'id, name',
      'content-range': 'id 01234567-0001..01234567-0002; max=2',
      'next-range': 'id ]01234567-0002..; max=2',
      'ratelimit-remaining': '4320',
      'request-id': '5a6b7c8d-0000-4000-8000-000000000001',
    },
    body: '[{"id":"01234567-0001"},{"id":"01234567-0002"}]',
  },
  '/gzip': {
    status: 200,
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', vary: 'Accept-Encoding' },
    body: gzipSync('{"compressed":true}'),
  },
  '/bytes': {
    status: 206,
    headers: { 'content-type': 'application/octet-stream', 'content-range': 'bytes 0-9/100' },
    body: '0123456789',
  },
  '/moved': {
    status: 302,
    headers: { location: `${SELF}/elsewhere?x=1`, 'x-custom-upstream': 'redirect' },
    body: '',
  },
  '/relative-redirect': {
    status: 307,
    headers: { location: '/v2/elsewhere' },
    body: '',
  },
  '/not-modified': {
    status: 304,
    headers: { etag: '"0123456789abcdef"', 'ratelimit-remaining': '4319', 'cache-control': 'private, no-cache' },
  },
  '/no-content': {
    status: 204,
    headers: { 'x-custom-upstream': 'nothing', 'ratelimit-remaining': '4318', 'request-id': 'r-204' },
  },
};

const FAILURES: Record<string, Canned> = Object.fromEntries(
  (
    [
      [400, 'application/json', '{"id":"invalid_params","message":"Name is too short."}'],
      [401, 'application/json', '{"id":"unauthorized","message":"Invalid credentials provided."}'],
      [403, 'application/json', '{"id":"forbidden","message":"You do not have access to the app."}'],
      [404, 'text/plain; charset=utf-8', 'Not Found'],
      [409, 'application/json', '{"id":"conflict"}'],
      [422, 'application/json', '{"id":"verification_required","url":"https://example.invalid/verify"}'],
      [429, 'application/json', '{"id":"rate_limit","message":"Your account reached the API rate limit."}'],
      [500, 'text/html', '<html><body>Internal Server Error</body></html>'],
      [502, 'application/json', '{"id":"bad_gateway","message":"upstream of the upstream"}'],
      [503, 'text/plain', 'Service Unavailable: maintenance'],
      [504, 'application/json', '{"id":"gateway_timeout","message":"not from the gateway"}'],
    ] as const
  ).map(([status, type, body]) => [
    `/fail/${status}`,
    { status, headers: { 'content-type': type, 'retry-after': '7', 'x-custom-upstream': `fail-${status}` }, body },
  ]),
);

const SPECIAL: Record<string, Canned> = {
  '/set-cookie': {
    status: 200,
    headers: {
      'set-cookie': ['session=upstream-session-secret; Path=/; HttpOnly', 'other=1; Path=/'],
      'x-kept': 'yes',
    },
    body: 'ok',
  },
  // Chunked, because a Trailer header is only valid with a chunked body.
  '/hop-by-hop': {
    status: 200,
    headers: {
      'keep-alive': 'timeout=99, max=7',
      'proxy-connection': 'keep-alive',
      upgrade: 'h2c',
      trailer: 'X-Checksum',
      connection: 'keep-alive, X-Upstream-Hop',
      'x-upstream-hop': 'hop-value',
      'x-kept': 'yes',
    },
    chunks: [Buffer.from('hop '), Buffer.from('by hop')],
  },
  '/head': {
    status: 200,
    headers: { 'content-type': 'application/json', 'content-length': '1234', etag: '"head-etag"' },
  },
  '/binary': {
    status: 200,
    headers: { 'content-type': 'application/octet-stream' },
    body: BINARY,
  },
  '/binary-chunked': {
    status: 200,
    headers: { 'content-type': 'application/octet-stream' },
    chunks: [BINARY.subarray(0, 1), BINARY.subarray(1, 65_537), BINARY.subarray(65_537)],
  },
};

const CANNED: Record<string, Canned> = { ...SUCCESSES, ...FAILURES, ...SPECIAL };

let upstream: Upstream;
let gateway: InProcessGateway;

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    req.resume();
    const canned = CANNED[req.url!];
    if (canned === undefined) {
      res.writeHead(500).end(`no canned response for ${req.url}`);
      return;
    }
    const headers = withSelf(canned.headers, `http://${req.headers.host}`);
    if (canned.body !== undefined && headers['content-length'] === undefined) {
      headers['content-length'] = Buffer.byteLength(canned.body);
    }
    res.writeHead(canned.status, headers);
    for (const chunk of canned.chunks ?? []) res.write(chunk);
    res.end(req.method === 'HEAD' ? undefined : canned.body);
  });
  gateway = await startGateway({ adapters: [{ name: 'up', baseUrl: upstream.url }] });
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

function withSelf(headers: OutgoingHttpHeaders, self: string): OutgoingHttpHeaders {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [
      name,
      typeof value === 'string' ? value.replace(SELF, self) : value,
    ]),
  );
}

function get(path: string, headers: OutgoingHttpHeaders = {}, method = 'GET') {
  return send(gateway.url, { method, path: `/v1/apis/http/up${path}`, headers: { ...CALLER_AUTH, ...headers } });
}

describe('status, headers and body pass through unchanged', () => {
  test.each(Object.entries(SUCCESSES).map(([path, { status }]) => [path, status]))('%s (%d)', async (path) => {
    const canned = SUCCESSES[path]!;

    const res = await get(path);

    expect(res.status).toBe(canned.status);
    const expected = withSelf(canned.headers, upstream.url);
    for (const [name, value] of Object.entries(expected)) {
      expect([name, res.headers[name]]).toEqual([name, value]);
    }
    expect(res.body).toEqual(Buffer.from(canned.body ?? ''));
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
  });
});

describe('upstream errors reach the client untouched with their status', () => {
  test.each(Object.entries(FAILURES).map(([path, { status }]) => [path, status]))('%s (%d)', async (path) => {
    const canned = FAILURES[path]!;

    const res = await get(path);

    expect(res.status).toBe(canned.status);
    expect(res.text).toBe(canned.body);
    for (const [name, value] of Object.entries(canned.headers)) {
      expect([name, res.headers[name]]).toEqual([name, value]);
    }
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(canned.body as string)));
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
  });
});

test('upstream Set-Cookie is dropped and the rest of the response kept', async () => {
  const direct = await send(upstream.url, { path: '/set-cookie' });
  expect(direct.headers['set-cookie']).toHaveLength(2);

  const res = await get('/set-cookie');

  expect(res.status).toBe(200);
  expect(res.headers['set-cookie']).toBeUndefined();
  expect(res.rawHeaders.join('\n')).not.toContain('upstream-session-secret');
  expect(res.headers['x-kept']).toBe('yes');
  expect(res.text).toBe('ok');
});

test('upstream hop-by-hop response headers, and those its Connection names, are dropped', async () => {
  // What the gateway receives, so that each absence below is a removal.
  const direct = await send(upstream.url, { path: '/hop-by-hop' });
  expect(direct.headers).toMatchObject({
    'keep-alive': 'timeout=99, max=7',
    'proxy-connection': 'keep-alive',
    upgrade: 'h2c',
    trailer: 'X-Checksum',
    connection: 'keep-alive, X-Upstream-Hop',
    'x-upstream-hop': 'hop-value',
  });

  const res = await get('/hop-by-hop');

  expect(res.status).toBe(200);
  expect(res.text).toBe('hop by hop');
  expect(res.headers['x-kept']).toBe('yes');
  expect(res.headers['keep-alive']).not.toBe('timeout=99, max=7');
  expect(res.headers['proxy-connection']).toBeUndefined();
  expect(res.headers.upgrade).toBeUndefined();
  expect(res.headers.trailer).toBeUndefined();
  expect(res.headers['x-upstream-hop']).toBeUndefined();
  expect(res.headers.connection ?? '').not.toMatch(/x-upstream-hop/i);
});

test('HEAD passes the headers through with no body', async () => {
  const res = await get('/head', {}, 'HEAD');

  expect(res.status).toBe(200);
  expect(res.headers.etag).toBe('"head-etag"');
  expect(res.headers['content-type']).toBe('application/json');
  expect(res.headers['content-length']).toBe('1234');
  expect(res.body).toHaveLength(0);
  expect(upstream.seen.at(-1)!.method).toBe('HEAD');
});

test.each(['/binary', '/binary-chunked'])('a binary body (%s) arrives byte-identical', async (path) => {
  const res = await get(path);

  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/octet-stream');
  expect(res.body).toHaveLength(BINARY.length);
  expect(createHash('sha256').update(res.body).digest('hex')).toBe(BINARY_SHA256);
});
