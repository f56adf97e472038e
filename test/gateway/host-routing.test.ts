import { parseAdaptersJson } from '../../gateway/src/config/validate-adapters';
import { configError } from '../helpers/config-files';
import { CALLER_AUTH, startGateway, type InProcessGateway } from '../helpers/gateway';
import { exchangeRaw, send } from '../helpers/http';
import { startEchoUpstream, type Upstream } from '../helpers/upstreams';

/**
 * An adapter with `hostnames` is also served at the root of each: a request
 * whose Host is one of them is that adapter's request, with every rule of
 * the adapter route. Other hosts, and /healthz on every host, are as before.
 */

const HOST = 'heroku.atlas.example.com';

let upstream: Upstream;
let gateway: InProcessGateway;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  gateway = await startGateway({
    adapters: [
      {
        name: 'heroku',
        baseUrl: `${upstream.url}/api`,
        headers: [{ name: 'Authorization', value: 'Bearer upstream-key' }],
        allowedMethods: ['GET', 'PATCH'],
        hostnames: [HOST, 'HEROKU-EU.atlas.example.com'],
      },
      { name: 'other', baseUrl: upstream.url },
    ],
  });
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

function atHost(host: string, path: string, extra: Record<string, string> = CALLER_AUTH) {
  return send(gateway.url, { path, headers: { host, ...extra } });
}

test.each([
  [HOST, '/account', '/api/account'],
  [`${HOST}:443`, '/apps?page=2', '/api/apps?page=2'],
  ['Heroku.Atlas.Example.Com.', '/account', '/api/account'],
  ['heroku-eu.atlas.example.com', '/', '/api'],
])('Host %s: %s is served by the adapter at the root (upstream sees %s)', async (host, path, upstreamPath) => {
  const res = await atHost(host, path);
  expect(res.status).toBe(200);
  const seen = upstream.seen.at(-1)!;
  expect(seen.url).toBe(upstreamPath);
  expect(seen.headers.authorization).toBe('Bearer upstream-key');
  expect(seen.headers.host).not.toBe(host);
  const line = gateway.logs().find((entry) => entry.requestId === res.headers['x-request-id'])!;
  expect(line).toMatchObject({ adapter: 'heroku', status: 200 });
});

test('a /v1/... path on an adapter host is that adapter path, not the gateway route', async () => {
  const res = await atHost(HOST, '/v1/apis');
  expect(res.status).toBe(200);
  expect(upstream.seen.at(-1)!.url).toBe('/api/v1/apis');
});

test.each([
  ['no credentials', '/account', 'GET', {}, 401, 'unauthorized'],
  ['a dot segment', '/a/../b', 'GET', CALLER_AUTH, 400, 'bad_request'],
  ['a method the adapter does not allow', '/account', 'DELETE', CALLER_AUTH, 405, 'method_not_allowed'],
  ['TRACE', '/account', 'TRACE', CALLER_AUTH, 405, 'method_not_allowed'],
])('the adapter route rules hold on its host: %s', async (_case, path, method, headers, status, id) => {
  const before = upstream.seen.length;
  const res = await send(gateway.url, { path, method, headers: { host: HOST, ...headers } });
  expect(res.status).toBe(status);
  expect(res.headers['atlas-error']).toBe(id);
  expect(upstream.seen.length).toBe(before);
});

test('/healthz stays the gateway own on an adapter host, without credentials', async () => {
  const res = await atHost(HOST, '/healthz', {});
  expect(res.status).toBe(200);
  expect(res.json()).toEqual({ status: 'ok' });
});

test('other hosts behave as before: the gateway routes, and GET /v1/apis lists the host names', async () => {
  const res = await atHost('gateway.example.com', '/v1/apis');
  expect(res.status).toBe(200);
  expect(res.json()).toEqual([
    { kind: 'HTTP', name: 'heroku', baseUrl: `${upstream.url}/api`, hostnames: [HOST, 'heroku-eu.atlas.example.com'] },
    { kind: 'HTTP', name: 'other', baseUrl: upstream.url },
  ]);
  expect((await atHost('gateway.example.com', '/account')).status).toBe(404);
});

test('an absolute-form request target does not pick the adapter: the Host header does', async () => {
  const exchange = await exchangeRaw(
    gateway.url,
    `GET http://${HOST}/account HTTP/1.1\r\nHost: gateway.example.com\r\nAuthorization: ${CALLER_AUTH.authorization}\r\nConnection: close\r\n\r\n`,
  );
  expect(exchange.text).toMatch(/^HTTP\/1\.1 404 /);
});

describe('the hostnames field', () => {
  const adapter = (hostnames: unknown, name = 'a') => ({ name, baseUrl: 'https://api.example.com', hostnames });

  test('is kept lower case', () => {
    const [parsed] = parseAdaptersJson(JSON.stringify([adapter(['API.Example.COM'])]));
    expect(parsed!.hostnames).toEqual(['api.example.com']);
  });

  test.each([
    ['a URL', ['https://api.example.com'], /"https:\/\/api\.example\.com" is not a host name/],
    ['a port', ['api.example.com:443'], /is not a host name/],
    ['a single label', ['localhost'], /is not a host name/],
    ['an empty list', [], /at least one host name/],
  ])('refuses %s', (_case, hostnames, message) => {
    expect(configError(() => parseAdaptersJson(JSON.stringify([adapter(hostnames)]))).message).toMatch(message);
  });

  test('refuses a host name used by two adapters', () => {
    const error = configError(() =>
      parseAdaptersJson(JSON.stringify([adapter(['api.example.com']), adapter(['API.example.com'], 'b')])),
    );
    expect(error.message).toMatch(
      /ATLAS_ADAPTERS\[1\]\.hostnames\[0\]: host name "api\.example\.com" is already served by adapter "a"/,
    );
  });
});
