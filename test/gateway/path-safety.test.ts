import { CALLER_AUTH, startGateway, type InProcessGateway } from '../helpers/gateway';
import { send } from '../helpers/http';
import { startEchoUpstream, type Upstream } from '../helpers/upstreams';

let upstream: Upstream;
let evil: Upstream;
let evilHost: string;
let gateway: InProcessGateway;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  evil = await startEchoUpstream();
  evilHost = new URL(evil.url).host;
  gateway = await startGateway({
    adapters: [
      { name: 'echo', baseUrl: upstream.url },
      { name: 'prefixed', baseUrl: `${upstream.url}/api` },
    ],
  });
});

afterAll(async () => {
  await gateway.close();
  await evil.close();
  await upstream.close();
});

beforeEach(() => {
  upstream.seen.length = 0;
  evil.seen.length = 0;
});

describe('dot segments and backslashes are refused with 400 bad_request before anything is sent', () => {
  test.each([
    ['echo', '/..'],
    ['echo', '/.'],
    ['echo', '/a/../b'],
    ['echo', '/a/./b'],
    ['echo', '/a/b/..'],
    ['echo', '/a/b/../'],
    ['echo', '/%2e%2e'],
    ['echo', '/%2E%2e'],
    ['echo', '/%2E%2E/x'],
    ['echo', '/.%2e'],
    ['echo', '/%2e.'],
    ['echo', '/%2e'],
    ['echo', '/a/%2E/b'],
    ['echo', '/..%2f'],
    ['echo', '/..%2Fetc'],
    ['echo', '/%2e%2e%2fx'],
    ['echo', '/a%2f..%2fb'],
    ['echo', '/..?q=1'],
    ['echo', '/a\\b'],
    ['echo', '/\\'],
    ['echo', '/a%5cb'],
    ['echo', '/a%5Cb'],
    ['echo', '/..\\'],
    ['echo', '/..\\x'],
    ['prefixed', '/..'],
    ['prefixed', '/%2e%2e/secret'],
    ['prefixed', '/v2/../../admin'],
    // Servlet-style upstreams drop ";…" path parameters, so these are dot segments there.
    ['prefixed', '/..;/admin'],
    ['echo', '/..;jsessionid=1/x'],
    ['echo', '/.;/x'],
    ['echo', '/%2e%2e;/x'],
    ['echo', '/%2E%2E;x=1'],
    ['echo', '/..%3b/x'],
    ['echo', '/%2e%2e%3Bfoo/x'],
    ['echo', '/a/..;'],
  ])('%s %s', async (adapter, path) => {
    const res = await send(gateway.url, { path: `/v1/apis/http/${adapter}${path}`, headers: CALLER_AUTH });

    expect(res.status).toBe(400);
    expect(res.json()).toEqual({ id: 'bad_request', message: expect.any(String) });
    expect(upstream.seen).toEqual([]);
  });
});

describe('names that merely contain dots are forwarded as they are', () => {
  test.each([
    ['echo', '/files/a.b', '/files/a.b'],
    ['echo', '/v1/...x', '/v1/...x'],
    ['echo', '/...', '/...'],
    ['echo', '/%2e%2e%2e', '/%2e%2e%2e'],
    ['echo', '/a..b/c.', '/a..b/c.'],
    ['echo', '/..a/.b', '/..a/.b'],
    ['echo', '/.well-known/openid-configuration', '/.well-known/openid-configuration'],
    ['echo', '/%2ewell-known', '/%2ewell-known'],
    ['echo', '/%252e%252e/x', '/%252e%252e/x'],
    ['echo', '/search?path=../x&q=..%2F..', '/search?path=../x&q=..%2F..'],
    ['prefixed', '/releases/v1.2.3', '/api/releases/v1.2.3'],
    ['echo', '/items;v=2/x', '/items;v=2/x'],
    ['echo', '/...;x', '/...;x'],
    ['echo', '/..a;b', '/..a;b'],
  ])('%s %s reaches the upstream as %s', async (adapter, path, expected) => {
    const res = await send(gateway.url, { path: `/v1/apis/http/${adapter}${path}`, headers: CALLER_AUTH });

    expect(res.status).toBe(200);
    expect(upstream.seen.map((seen) => seen.url)).toEqual([expected]);
  });
});

describe('the target host is fixed by the adapter', () => {
  test.each([
    ['a //host path', () => `/v1/apis/http/echo//${evilHost}/x`, () => `//${evilHost}/x`],
    ['a ///host path', () => `/v1/apis/http/echo///${evilHost}/x`, () => `///${evilHost}/x`],
    ['an encoded //host path', () => `/v1/apis/http/echo/%2F%2F${evilHost}/x`, () => `/%2F%2F${evilHost}/x`],
    ['a //host path under a prefix', () => `/v1/apis/http/prefixed//${evilHost}/x`, () => `/api//${evilHost}/x`],
    ['an @host path', () => `/v1/apis/http/echo/@${evilHost}/x`, () => `/@${evilHost}/x`],
    ['a user@host path', () => `/v1/apis/http/echo/user@${evilHost}/x`, () => `/user@${evilHost}/x`],
  ])('%s reaches the real upstream with its own Host', async (_what, path, expected) => {
    const res = await send(gateway.url, { path: path(), headers: CALLER_AUTH });

    expect(evil.seen).toEqual([]);
    expect(res.status).toBe(200);
    expect(upstream.seen).toHaveLength(1);
    expect(upstream.seen[0]!.url).toBe(expected());
    expect(upstream.seen[0]!.headers.host).toBe(new URL(upstream.url).host);
  });

  test('an @host glued to the adapter name is an unknown adapter', async () => {
    const res = await send(gateway.url, { path: `/v1/apis/http/echo@${evilHost}/x`, headers: CALLER_AUTH });

    expect(res.status).toBe(404);
    expect(res.json()).toMatchObject({ id: 'adapter_not_found' });
    expect(evil.seen).toEqual([]);
    expect(upstream.seen).toEqual([]);
  });

  test.each([
    ['to the evil host', () => `http://${evilHost}/x`],
    ['to the evil host with a gateway route', () => `http://${evilHost}/v1/apis/http/echo/x`],
    ['to the evil host with credentials', () => `http://user:pass@${evilHost}/v1/apis/http/echo/x`],
  ])('an absolute-form request target %s sends nothing there', async (_what, target) => {
    const res = await send(gateway.url, { path: target(), headers: CALLER_AUTH });

    expect(evil.seen).toEqual([]);
    // Serving it as an origin server would (RFC 9112 §3.2.2) or refusing it are both safe.
    expect(res.status).toBeLessThan(500);
    for (const seen of upstream.seen) expect(seen.headers.host).toBe(new URL(upstream.url).host);
  });

  test.each([
    ['Host', () => ({ host: evilHost })],
    ['X-Forwarded-Host', () => ({ 'x-forwarded-host': evilHost })],
    ['Forwarded', () => ({ forwarded: `host=${evilHost};proto=http` })],
    ['X-Original-URL', () => ({ 'x-original-url': `http://${evilHost}/x` })],
    ['X-Rewrite-URL', () => ({ 'x-rewrite-url': `http://${evilHost}/x` })],
    [
      'X-Forwarded-Host and X-Forwarded-Port',
      () => ({ 'x-forwarded-host': '127.0.0.1', 'x-forwarded-port': new URL(evil.url).port }),
    ],
  ])('a %s header naming another host changes nothing', async (_header, headers) => {
    const res = await send(gateway.url, { path: '/v1/apis/http/echo/x', headers: { ...CALLER_AUTH, ...headers() } });

    expect(evil.seen).toEqual([]);
    expect(res.status).toBe(200);
    expect(upstream.seen).toHaveLength(1);
    expect(upstream.seen[0]!.url).toBe('/x');
    expect(upstream.seen[0]!.headers.host).toBe(new URL(upstream.url).host);
  });
});
