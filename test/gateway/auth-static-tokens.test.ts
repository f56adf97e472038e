import http from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http';
import { type InProcessGateway, startGateway } from '../helpers/gateway';
import { send } from '../helpers/http';
import { startEchoUpstream, type Upstream } from '../helpers/upstreams';

const TOKEN_A = 'static-token-a-5f0c2e9b7d13a4c68e21f0b9d7a3c5e1';
const TOKEN_B = 'static-token-b-91d3e7a0c2f84b6d0e5a7c9b1f3d5e7a';

let upstream: Upstream;
let gateway: InProcessGateway;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  gateway = await startGateway({
    adapters: [{ name: 'echo', baseUrl: upstream.url }],
    auth: {
      accessTokens: [
        { caller: 'a', token: TOKEN_A },
        { caller: 'b', token: TOKEN_B },
      ],
    },
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

beforeEach(() => {
  upstream.seen.length = 0;
});

test.each<[string, OutgoingHttpHeaders]>([
  ['Authorization: Bearer with the first token', { authorization: `Bearer ${TOKEN_A}` }],
  ['Authorization: Bearer with the second token', { authorization: `Bearer ${TOKEN_B}` }],
  ['Atlas-Accesstoken with the first token', { 'atlas-accesstoken': TOKEN_A }],
  ['Atlas-Accesstoken with the second token', { 'atlas-accesstoken': TOKEN_B }],
  ['lower-case "bearer" scheme', { authorization: `bearer ${TOKEN_A}` }],
  ['upper-case "BEARER" scheme', { authorization: `BEARER ${TOKEN_B}` }],
  ['mixed-case "BeArEr" scheme', { authorization: `BeArEr ${TOKEN_A}` }],
])('a caller presenting %s reaches the upstream', async (_case, headers) => {
  const res = await send(gateway.url, { path: '/v1/apis/http/echo/account', headers });

  expect(res.status).toBe(200);
  expect(upstream.seen).toHaveLength(1);
  expect(upstream.seen[0]!.url).toBe('/account');
});

test.each<[string, OutgoingHttpHeaders]>([
  ['no credentials at all', {}],
  ['a wrong token of the same length', { authorization: `Bearer ${TOKEN_A.replace(/.$/, '0')}` }],
  ['a wrong token in Atlas-Accesstoken', { 'atlas-accesstoken': 'not-the-token-0000000000000000000000000' }],
  ['a prefix of a valid token', { authorization: `Bearer ${TOKEN_A.slice(0, -1)}` }],
  ['a valid token with a character appended', { authorization: `Bearer ${TOKEN_A}0` }],
  ['a prefix of a valid token in Atlas-Accesstoken', { 'atlas-accesstoken': TOKEN_B.slice(0, 32) }],
  ['a valid token with a suffix in Atlas-Accesstoken', { 'atlas-accesstoken': `${TOKEN_B}${TOKEN_A}` }],
  ['both valid tokens joined by a comma', { authorization: `Bearer ${TOKEN_A},${TOKEN_B}` }],
  ['the Basic scheme carrying a valid token', { authorization: `Basic ${TOKEN_A}` }],
  [
    'the Basic scheme carrying a valid token as user:password',
    { authorization: `Basic ${Buffer.from(`${TOKEN_A}:${TOKEN_A}`).toString('base64')}` },
  ],
  ['a valid token with no scheme', { authorization: TOKEN_A }],
  ['an empty bearer token', { authorization: 'Bearer ' }],
  ['the Bearer scheme alone', { authorization: 'Bearer' }],
  ['an empty Atlas-Accesstoken', { 'atlas-accesstoken': '' }],
])('a caller presenting %s gets 401 unauthorized and the upstream sees nothing', async (_case, headers) => {
  const res = await send(gateway.url, { path: '/v1/apis/http/echo/account', headers });

  expect(res.status).toBe(401);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.json()).toEqual({ id: 'unauthorized', message: expect.any(String) });
  expect(res.headers['www-authenticate']).toBe('Bearer realm="atlas"');
  expect(res.headers['x-request-id']).toBeTruthy();
  expect(upstream.seen).toHaveLength(0);
});

test('GET /v1/apis requires a caller token', async () => {
  const anonymous = await send(gateway.url, { path: '/v1/apis' });
  expect(anonymous.status).toBe(401);
  expect(anonymous.json()).toEqual({ id: 'unauthorized', message: expect.any(String) });
  expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="atlas"');

  const authenticated = await send(gateway.url, { path: '/v1/apis', headers: { 'atlas-accesstoken': TOKEN_A } });
  expect(authenticated.status).toBe(200);
  expect(authenticated.json()).toEqual([{ kind: 'HTTP', name: 'echo', baseUrl: upstream.url }]);
});

test('unknown adapters and unknown routes under /v1 ask for credentials before saying anything', async () => {
  for (const path of ['/v1/apis/http/no-such-adapter/x', '/v1/anything']) {
    const res = await send(gateway.url, { path });
    expect(res.status).toBe(401);
    expect(res.json()).toEqual({ id: 'unauthorized', message: expect.any(String) });
  }
});

test('GET /healthz needs no credentials and ignores wrong ones', async () => {
  for (const headers of [{}, { authorization: 'Bearer wrong' }]) {
    const res = await send(gateway.url, { path: '/healthz', headers });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  }
});

test.each<[string, OutgoingHttpHeaders]>([
  ['Authorization', { authorization: `Bearer ${TOKEN_A}` }],
  ['Atlas-Accesstoken', { 'atlas-accesstoken': TOKEN_B }],
  ['both headers at once', { authorization: `Bearer ${TOKEN_A}`, 'atlas-accesstoken': TOKEN_B }],
])("the caller's token sent in %s never reaches the upstream", async (_case, headers) => {
  const res = await send(gateway.url, { path: '/v1/apis/http/echo/account?page=1', headers });

  expect(res.status).toBe(200);
  expect(upstream.seen).toHaveLength(1);
  const seen = upstream.seen[0]!;
  expect(seen.headers.authorization).toBeUndefined();
  expect(seen.headers['atlas-accesstoken']).toBeUndefined();
  // The echo body is the upstream's own account of the request: nothing in it may carry a token.
  for (const token of [TOKEN_A, TOKEN_B]) {
    expect(JSON.stringify(seen.rawHeaders)).not.toContain(token);
    expect(seen.url).not.toContain(token);
    expect(res.text).not.toContain(token);
  }
});

describe('a refusal keeps the connection unless part of a request body is left on it', () => {
  test('refused requests without a body and the next, accepted one all travel on one keep-alive connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let connections = 0;
    const count = () => (connections += 1);
    gateway.server.on('connection', count);
    try {
      for (const headers of [{ authorization: 'Bearer wrong-token' }, {}]) {
        const refused = await send(gateway.url, { path: '/v1/apis/http/echo/x', headers, agent });
        expect(refused.status).toBe(401);
        expect(refused.headers.connection).toBe('keep-alive');
      }
      const accepted = await send(gateway.url, {
        path: '/v1/apis/http/echo/x',
        headers: { authorization: `Bearer ${TOKEN_A}` },
        agent,
      });
      expect(accepted.status).toBe(200);
      expect(connections).toBe(1);
    } finally {
      gateway.server.off('connection', count);
      agent.destroy();
    }
  });

  test('a request refused before its body was read gets Connection: close', async () => {
    const refused = await send(gateway.url, {
      method: 'POST',
      path: '/v1/apis/http/echo/x',
      headers: { authorization: 'Bearer wrong-token', 'content-type': 'text/plain' },
      body: 'a body the gateway never reads',
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.connection).toBe('close');
  });
});
