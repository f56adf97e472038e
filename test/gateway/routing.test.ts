import { once } from 'node:events';
import net from 'node:net';
import {
  CALLER_AUTH,
  CALLER_TOKEN,
  spawnGateway,
  startGateway,
  stopGateway,
  type InProcessGateway,
} from '../helpers/gateway';
import { send, type Received } from '../helpers/http';
import { startEchoUpstream, type Upstream } from '../helpers/upstreams';

const SECRET = 'sk_live_routing_3c9f1b7e2a6d4f08';

let upstream: Upstream;
let gateway: InProcessGateway;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  gateway = await startGateway({
    adapters: [
      {
        name: 'echo',
        baseUrl: upstream.url,
        headers: [{ name: 'Authorization', value: 'Bearer ${{ ROUTING_SECRET }}' }],
      },
      { name: 'prefixed', baseUrl: `${upstream.url}/api` },
      { name: 'slashed', baseUrl: `${upstream.url}/api/` },
      { name: 'heroku', baseUrl: upstream.url },
      { name: 'getonly', baseUrl: upstream.url, allowedMethods: ['GET'] },
    ],
    env: { ROUTING_SECRET: SECRET },
  });
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

beforeEach(() => {
  upstream.seen.length = 0;
});

/** Every gateway error: the status, exactly `{id, message}` as JSON, and a request id. */
function expectError(res: Received, status: number, id: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json<Record<string, unknown>>();
  expect(Object.keys(body).sort()).toEqual(['id', 'message']);
  expect(body.id).toBe(id);
  expect(typeof body.message).toBe('string');
  expect(body.message).not.toBe('');
  expect(res.headers['x-request-id']).toEqual(expect.any(String));
}

describe('the upstream request target is the base URL followed by the raw path and query', () => {
  test.each([
    ['echo', '/account', '/account'],
    ['echo', '/apps/a%2Fb/config-vars', '/apps/a%2Fb/config-vars'],
    ['echo', '/apps/%2F%2f', '/apps/%2F%2f'],
    ['echo', '/search?q=a%20b+c', '/search?q=a%20b+c'],
    ['echo', '/search?q=a+b&q=c%2Bd&q=&q', '/search?q=a+b&q=c%2Bd&q=&q'],
    ['echo', '/users/%C3%A9t%C3%A9?name=%E2%9C%93&to=%2Fhome', '/users/%C3%A9t%C3%A9?name=%E2%9C%93&to=%2Fhome'],
    ['echo', '/apps/my%20app/dynos', '/apps/my%20app/dynos'],
    ['echo', '/a/b/?x=%3D%26', '/a/b/?x=%3D%26'],
    ['prefixed', '/v2/users', '/api/v2/users'],
    ['prefixed', '/v2/users?page=2&sort=-name', '/api/v2/users?page=2&sort=-name'],
    ['prefixed', '/v2/a%2Fb', '/api/v2/a%2Fb'],
    ['slashed', '/v2/users', '/api/v2/users'],
    ['slashed', '/v2/users?page=2', '/api/v2/users?page=2'],
  ])('%s %s goes to %s', async (adapter, path, expected) => {
    const res = await send(gateway.url, { path: `/v1/apis/http/${adapter}${path}`, headers: CALLER_AUTH });

    expect(res.status).toBe(200);
    expect(upstream.seen.map((seen) => seen.url)).toEqual([expected]);
  });
});

// A path starting with "//" reads as a scheme-relative URL; when what follows is not a valid host
// (empty, a bad port, "%zz", "[") the request was answered 404 not_found instead of being forwarded.
describe('regression: a path starting with // that is not a valid URL authority is forwarded, not 404 not_found', () => {
  test.each([
    ['echo', '//', '//'],
    ['echo', '//?q=1', '//?q=1'],
    ['echo', '///', '///'],
    ['echo', '//a:b/x', '//a:b/x'],
    ['echo', '//%zz/x', '//%zz/x'],
    ['echo', '//[x/y', '//[x/y'],
    ['echo', '//a%2Fb/c', '//a%2Fb/c'],
    ['prefixed', '//', '/api//'],
  ])('%s %s goes to %s', async (adapter, path, expected) => {
    const res = await send(gateway.url, { path: `/v1/apis/http/${adapter}${path}`, headers: CALLER_AUTH });

    expect(res.status).toBe(200);
    expect(upstream.seen.map((seen) => seen.url)).toEqual([expected]);
  });
});

describe("the adapter root maps to the base URL's own path, keeping the query", () => {
  test.each([
    ['echo', '', '/'],
    ['echo', '/', '/'],
    ['echo', '?page=2', '/?page=2'],
    ['echo', '/?page=2', '/?page=2'],
    ['prefixed', '', '/api'],
    ['prefixed', '/', '/api'],
    ['prefixed', '?page=2&q=a%20b', '/api?page=2&q=a%20b'],
    ['prefixed', '/?page=2', '/api?page=2'],
    ['slashed', '', '/api/'],
    ['slashed', '/', '/api/'],
    ['slashed', '?page=2', '/api/?page=2'],
  ])('/v1/apis/http/%s%s goes to %s', async (adapter, rest, expected) => {
    const res = await send(gateway.url, { path: `/v1/apis/http/${adapter}${rest}`, headers: CALLER_AUTH });

    expect(res.status).toBe(200);
    expect(upstream.seen.map((seen) => seen.url)).toEqual([expected]);
  });
});

test.each([
  ['the gateway host', () => new URL(gateway.url).host],
  ['another host, which is ignored', () => 'elsewhere.example:9'],
])('an absolute-form request target naming %s is served by its path (RFC 9112 §3.2.2)', async (_what, host) => {
  const res = await send(gateway.url, {
    path: `http://${host()}/v1/apis/http/prefixed/v2/users?page=2`,
    headers: CALLER_AUTH,
  });

  expect(res.status).toBe(200);
  expect(upstream.seen.map((seen) => seen.url)).toEqual(['/api/v2/users?page=2']);
  expect(upstream.seen[0]!.headers.host).toBe(new URL(upstream.url).host);
});

test('GET /v1/apis lists every adapter as {kind, name, baseUrl} and never a header value', async () => {
  // The secret is really configured: the upstream receives it.
  await send(gateway.url, { path: '/v1/apis/http/echo/x', headers: CALLER_AUTH });
  expect(upstream.seen[0]!.headers.authorization).toBe(`Bearer ${SECRET}`);

  const res = await send(gateway.url, { path: '/v1/apis', headers: CALLER_AUTH });

  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.json()).toEqual([
    { kind: 'HTTP', name: 'echo', baseUrl: upstream.url },
    { kind: 'HTTP', name: 'prefixed', baseUrl: `${upstream.url}/api` },
    { kind: 'HTTP', name: 'slashed', baseUrl: `${upstream.url}/api/` },
    { kind: 'HTTP', name: 'heroku', baseUrl: upstream.url },
    { kind: 'HTTP', name: 'getonly', baseUrl: upstream.url },
  ]);
  expect(res.text).not.toContain(SECRET);
  expect(res.text).not.toContain('Bearer');
  expect(res.headers['x-request-id']).toEqual(expect.any(String));
});

describe('adapter names are looked up exactly: anything else is 404 adapter_not_found and sends nothing', () => {
  test.each([
    'nope',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'HEROKU',
    'Heroku',
    '%68eroku',
    'heroku%20',
    'heroku.',
  ])('/v1/apis/http/%s/account', async (name) => {
    const res = await send(gateway.url, { path: `/v1/apis/http/${name}/account`, headers: CALLER_AUTH });

    expectError(res, 404, 'adapter_not_found');
    expect(upstream.seen).toEqual([]);
  });

  test.each(['__proto__', 'constructor', 'HEROKU', '%68eroku'])('/v1/apis/http/%s (adapter root)', async (name) => {
    const res = await send(gateway.url, { path: `/v1/apis/http/${name}`, headers: CALLER_AUTH });

    expectError(res, 404, 'adapter_not_found');
    expect(upstream.seen).toEqual([]);
  });
});

test.each(['/', '/v1', '/v2/apis', '/v1/apis/grpc/echo/x', '/v1/apisx', '/v1/api/http/echo/x', '/V1/apis'])(
  'GET %s is 404 not_found',
  async (path) => {
    const res = await send(gateway.url, { path, headers: CALLER_AUTH });

    expectError(res, 404, 'not_found');
    expect(upstream.seen).toEqual([]);
  },
);

test.each(['POST', 'PUT', 'DELETE'])('%s /v1/apis is 405 method_not_allowed with an Allow header', async (method) => {
  const res = await send(gateway.url, { method, path: '/v1/apis', headers: CALLER_AUTH });

  expectError(res, 405, 'method_not_allowed');
  expect(methodsIn(res.headers.allow)).toContain('GET');
  expect(methodsIn(res.headers.allow)).not.toContain(method);
});

describe('allowedMethods: [GET] refuses other methods before anything is sent', () => {
  test.each(['POST', 'DELETE', 'PUT', 'PATCH'])('%s is 405 method_not_allowed with an Allow header', async (method) => {
    const res = await send(gateway.url, { method, path: '/v1/apis/http/getonly/items', headers: CALLER_AUTH });

    expectError(res, 405, 'method_not_allowed');
    expect(methodsIn(res.headers.allow)).toContain('GET');
    expect(methodsIn(res.headers.allow)).not.toContain(method);
    expect(upstream.seen).toEqual([]);
  });

  test.each(['GET', 'HEAD'])('%s reaches the upstream', async (method) => {
    const res = await send(gateway.url, { method, path: '/v1/apis/http/getonly/items', headers: CALLER_AUTH });

    expect(res.status).toBe(200);
    expect(upstream.seen.map((seen) => [seen.method, seen.url])).toEqual([[method, '/items']]);
  });
});

test.each([
  ['unauthorized', 401, { path: '/v1/apis' }],
  ['adapter_not_found', 404, { path: '/v1/apis/http/nope/x', headers: CALLER_AUTH }],
  ['not_found', 404, { path: '/nowhere', headers: CALLER_AUTH }],
  ['method_not_allowed', 405, { method: 'POST', path: '/v1/apis', headers: CALLER_AUTH }],
  ['method_not_allowed', 405, { method: 'POST', path: '/v1/apis/http/getonly/x', headers: CALLER_AUTH }],
  ['bad_request', 400, { path: '/v1/apis/http/echo/../x', headers: CALLER_AUTH }],
])('a %s error (%d) is exactly {id, message} JSON with X-Request-Id', async (id, status, request) => {
  const res = await send(gateway.url, request);

  expectError(res, status, id);
});

test.each([
  ['/healthz', {}],
  ['/v1/apis', CALLER_AUTH],
  ['/v1/apis/http/echo/account', CALLER_AUTH],
  ['/v1/apis/http/prefixed', CALLER_AUTH],
])('a successful GET %s carries X-Request-Id', async (path, headers) => {
  const res = await send(gateway.url, { path, headers });

  expect(res.status).toBe(200);
  expect(res.headers['x-request-id']).toEqual(expect.any(String));
  expect(res.headers['x-request-id']).not.toBe('');
});

test('a request the HTTP parser rejects still gets 400 bad_request as {id, message} JSON with X-Request-Id', async () => {
  // The compiled process, because its server (not the app) answers requests it cannot parse.
  const spawned = await spawnGateway({ ATLAS_ADAPTERS: '[]', ATLAS_ACCESS_TOKENS: CALLER_TOKEN });
  try {
    expect(spawned.url).not.toBe('');
    const { port } = new URL(spawned.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    socket.end('GET /v1/apis HTTP/1.1\r\nHost: 127.0.0.1\r\nBad\x01Header: y\r\n\r\n');
    let raw = '';
    socket.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')));
    await once(socket, 'close');

    const [head = '', body = ''] = raw.split('\r\n\r\n');
    const [statusLine, ...headerLines] = head.split('\r\n');
    const headers = Object.fromEntries(
      headerLines.map((line) => [
        line.slice(0, line.indexOf(':')).toLowerCase(),
        line.slice(line.indexOf(':') + 1).trim(),
      ]),
    );
    expect(statusLine).toMatch(/^HTTP\/1\.1 400 /);
    expect(headers['x-request-id']).toEqual(expect.any(String));
    expect(headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(body)).toEqual({ id: 'bad_request', message: expect.any(String) });
  } finally {
    await stopGateway(spawned);
  }
});

function methodsIn(allow: string | undefined): string[] {
  return (allow ?? '').split(',').map((method) => method.trim().toUpperCase());
}
