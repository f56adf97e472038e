import type { OutgoingHttpHeaders } from 'node:http';
import { type InProcessGateway, startGateway } from '../helpers/gateway';
import { send } from '../helpers/http';
import { startEchoUpstream, type Upstream } from '../helpers/upstreams';

let upstream: Upstream;
let gateway: InProcessGateway;
let port: string;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  gateway = await startGateway({
    adapters: [
      { name: 'echo', baseUrl: upstream.url },
      { name: 'named-only', baseUrl: upstream.url, access: [{ callers: ['ci'] }] },
      { name: 'anyone-reads', baseUrl: upstream.url, access: [{ callers: ['*'], methods: ['GET'] }] },
    ],
    auth: { accessTokens: [], issuers: [], disabled: true },
  });
  port = new URL(gateway.url).port;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

beforeEach(() => {
  upstream.seen.length = 0;
});

// Functions because the gateway's port is known only once it listens.
const accepted: [string, () => OutgoingHttpHeaders][] = [
  ['Host 127.0.0.1:<port>', () => ({ host: `127.0.0.1:${port}` })],
  ['Host localhost:<port>', () => ({ host: `localhost:${port}` })],
  ['Host localhost without a port', () => ({ host: 'localhost' })],
  [
    'Origin http://localhost:3000 (a local dev server)',
    () => ({ host: `localhost:${port}`, origin: 'http://localhost:3000' }),
  ],
  ['Origin http://127.0.0.1:5173', () => ({ host: `127.0.0.1:${port}`, origin: 'http://127.0.0.1:5173' })],
  ['Sec-Fetch-Site: same-origin', () => ({ host: `127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' })],
  ['Sec-Fetch-Site: none (typed in the address bar)', () => ({ host: `127.0.0.1:${port}`, 'sec-fetch-site': 'none' })],
];

test.each(accepted)('without credentials, a local request with %s is served', async (_case, headers) => {
  const res = await send(gateway.url, { path: '/v1/apis/http/echo/account', headers: headers() });

  expect(res.status).toBe(200);
  expect(upstream.seen).toHaveLength(1);
  expect(upstream.seen[0]!.url).toBe('/account');
});

const refused: [string, () => OutgoingHttpHeaders][] = [
  ['Host evil.example:<port> (DNS rebinding)', () => ({ host: `evil.example:${port}` })],
  ['Host evil.example without a port', () => ({ host: 'evil.example' })],
  ['Host 127.0.0.1.evil.example:<port>', () => ({ host: `127.0.0.1.evil.example:${port}` })],
  ['Host localhost.evil.example:<port>', () => ({ host: `localhost.evil.example:${port}` })],
  ['Origin https://evil.example', () => ({ host: `127.0.0.1:${port}`, origin: 'https://evil.example' })],
  [
    'Origin http://localhost.evil.example',
    () => ({ host: `127.0.0.1:${port}`, origin: 'http://localhost.evil.example' }),
  ],
  ['Origin null (a sandboxed or file: page)', () => ({ host: `127.0.0.1:${port}`, origin: 'null' })],
  ['Sec-Fetch-Site: cross-site', () => ({ host: `127.0.0.1:${port}`, 'sec-fetch-site': 'cross-site' })],
];

test.each(refused)(
  'without credentials, a request with %s is refused with 401 and the upstream sees nothing',
  async (_case, headers) => {
    const res = await send(gateway.url, { path: '/v1/apis/http/echo/account', headers: headers() });

    expect(res.status).toBe(401);
    expect(res.json()).toEqual({ id: 'unauthorized', message: expect.any(String) });
    expect(upstream.seen).toHaveLength(0);
  },
);

test('GET /v1/apis is served to a local caller and refused to a foreign Origin', async () => {
  const local = await send(gateway.url, { path: '/v1/apis', headers: { host: `localhost:${port}` } });
  expect(local.status).toBe(200);
  // named-only names no rule the anonymous caller matches: it is not listed.
  expect(local.json()).toEqual([
    { kind: 'HTTP', name: 'echo', baseUrl: upstream.url },
    { kind: 'HTTP', name: 'anyone-reads', baseUrl: upstream.url },
  ]);

  const foreign = await send(gateway.url, {
    path: '/v1/apis',
    headers: { host: `localhost:${port}`, origin: 'https://evil.example' },
  });
  expect(foreign.status).toBe(401);
});

test.each([
  ['a rule naming a static caller', 'GET', '/v1/apis/http/named-only/x', 403],
  ['a "*" rule, with its method', 'GET', '/v1/apis/http/anyone-reads/x', 200],
  ['a "*" rule, with another method', 'DELETE', '/v1/apis/http/anyone-reads/x', 403],
])('access rules see the anonymous caller: %s', async (_case, method, path, status) => {
  const res = await send(gateway.url, { method, path, headers: { host: `127.0.0.1:${port}` } });
  expect(res.status).toBe(status);
  if (status === 403)
    expect(res.json()).toMatchObject({ id: 'forbidden', message: expect.stringContaining('"anonymous"') });
});
