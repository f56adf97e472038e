import { randomBytes } from 'node:crypto';
import { CALLER_AUTH, CALLER_TOKEN, spawnGateway, stopGateway, type GatewayProcess } from '../helpers/gateway';
import { exchangeRaw, send, statusLines } from '../helpers/http';
import { startEchoUpstream, type Upstream } from '../helpers/upstreams';

/**
 * TRACE echoes the request, adapter credentials included, back to whoever
 * sent it (cross-site tracing); TRACK is its IIS twin and CONNECT asks for a
 * tunnel. The gateway refuses all three itself, whatever an adapter allows.
 */

const SECRET = `trace-secret-${randomBytes(16).toString('hex')}`;

let upstream: Upstream;
let gateway: GatewayProcess;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  gateway = await spawnGateway({
    ATLAS_ADAPTERS: JSON.stringify([
      { name: 'open', baseUrl: upstream.url, headers: [{ name: 'Authorization', value: 'Bearer ${{ SECRET }}' }] },
      { name: 'reads', baseUrl: upstream.url, allowedMethods: ['GET'] },
    ]),
    ATLAS_ACCESS_TOKENS: CALLER_TOKEN,
    SECRET,
  });
  expect(gateway.url).not.toBe('');
});

afterAll(async () => {
  await stopGateway(gateway);
  await upstream.close();
});

beforeEach(() => {
  upstream.seen.length = 0;
});

test.each([
  ['an adapter that allows every method', 'open', 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS'],
  ['an adapter that allows GET', 'reads', 'GET, HEAD'],
])('TRACE to %s is refused with 405 method_not_allowed and never forwarded', async (_what, adapter, allow) => {
  const res = await send(gateway.url, { method: 'TRACE', path: `/v1/apis/http/${adapter}/x`, headers: CALLER_AUTH });
  expect(res.status).toBe(405);
  expect(res.headers.allow).toBe(allow);
  expect(res.json()).toEqual({ id: 'method_not_allowed', message: expect.stringContaining('TRACE') });
  expect(res.text).not.toContain(SECRET);
  expect(upstream.seen).toEqual([]);
});

test.each([
  [
    'TRACK',
    `TRACK /v1/apis/http/open/x HTTP/1.1\r\nHost: gateway\r\nAuthorization: ${CALLER_AUTH.authorization}\r\n\r\n`,
  ],
  ['CONNECT', 'CONNECT api.heroku.com:443 HTTP/1.1\r\nHost: api.heroku.com:443\r\n\r\n'],
  ['CONNECT to an adapter path', `CONNECT /v1/apis/http/open/x HTTP/1.1\r\nHost: gateway\r\n\r\n`],
])('%s is answered with 405 method_not_allowed in JSON, not a dropped connection', async (_what, request) => {
  const exchange = await exchangeRaw(gateway.url, request);
  expect(statusLines(exchange.text)).toEqual(['HTTP/1.1 405 Method Not Allowed']);
  expect(exchange.text).toMatch(/\r\nAllow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n/i);
  expect(exchange.text).toMatch(/\r\nX-Request-Id: /i);
  const body = exchange.text.slice(exchange.text.indexOf('\r\n\r\n') + 4);
  expect(JSON.parse(body)).toEqual({ id: 'method_not_allowed', message: expect.any(String) });
  expect(upstream.seen).toEqual([]);
  expect((await send(gateway.url, { path: '/healthz' })).status).toBe(200);
});
