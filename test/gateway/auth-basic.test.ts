import { CALLER_TOKEN, startGateway, type InProcessGateway } from '../helpers/gateway';
import { send } from '../helpers/http';
import { type OidcIssuer, startOidcIssuer } from '../helpers/oidc-issuer';
import { startEchoUpstream, type Upstream } from '../helpers/upstreams';

/**
 * API SDKs send a token as HTTP Basic credentials: heroku-client as the
 * password with an empty user, GitHub's clients as the user with an empty
 * password. The gateway accepts both forms for its own tokens and JWTs, with
 * the same checks and logging as Bearer, and refuses every other Basic form.
 */

let upstream: Upstream;
let issuer: OidcIssuer;
let gateway: InProcessGateway;

beforeAll(async () => {
  [upstream, issuer] = await Promise.all([startEchoUpstream(), startOidcIssuer()]);
  gateway = await startGateway({
    adapters: [{ name: 'echo', baseUrl: upstream.url, headers: [{ name: 'X-Api-Key', value: 'upstream-key' }] }],
    auth: {
      accessTokens: [{ caller: 'default', token: CALLER_TOKEN }],
      issuers: [{ issuer: issuer.issuer, audience: issuer.audience, jwksUrl: new URL(issuer.jwksUrl) }],
    },
  });
});

afterAll(async () => {
  await gateway.close();
  await Promise.all([upstream.close(), issuer.close()]);
});

function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

function logFor(requestId: unknown): Record<string, unknown> {
  return gateway.logs().find((line) => line.requestId === requestId && line.msg === 'request')!;
}

test.each([
  ['an empty user and the token as password (heroku-client)', '', CALLER_TOKEN],
  ['the token as user and an empty password (GitHub-style)', CALLER_TOKEN, ''],
])('Basic with %s is accepted, logged by the token fingerprint, and never forwarded', async (_case, user, password) => {
  const res = await send(gateway.url, { path: '/v1/apis/http/echo/account', headers: basic(user, password) });
  expect(res.status).toBe(200);
  const seen = upstream.seen.at(-1)!;
  expect(seen.headers.authorization).toBeUndefined();
  expect(seen.headers['x-api-key']).toBe('upstream-key');
  const bearer = await send(gateway.url, {
    path: '/v1/apis/http/echo/account',
    headers: { authorization: `Bearer ${CALLER_TOKEN}` },
  });
  expect(logFor(res.headers['x-request-id']).caller).toBe(logFor(bearer.headers['x-request-id']).caller);
  expect(logFor(res.headers['x-request-id']).caller).toBe('token:default');
});

test('a JWT in Basic is verified like a Bearer one and logged by its subject', async () => {
  const jwt = await issuer.sign(issuer.claims('basic-user'));
  const res = await send(gateway.url, { path: '/v1/apis/http/echo/account', headers: basic('', jwt) });
  expect(res.status).toBe(200);
  expect(logFor(res.headers['x-request-id']).caller).toBe('sub:basic-user');
});

test.each([
  ['a user and a password', basic('alice', CALLER_TOKEN)],
  ['an empty user and password', basic('', '')],
  ['no colon', { authorization: `Basic ${Buffer.from(CALLER_TOKEN).toString('base64')}` }],
  ['a value that is not base64', { authorization: 'Basic %%%not-base64%%%' }],
])('Basic with %s is refused with 401 saying which forms are accepted', async (_case, headers) => {
  const res = await send(gateway.url, { path: '/v1/apis/http/echo/account', headers });
  expect(res.status).toBe(401);
  expect(res.headers['atlas-error']).toBe('unauthorized');
  expect(res.json()).toEqual({
    id: 'unauthorized',
    message: expect.stringContaining(
      'as the password with an empty user (":<token>") or as the user with an empty password',
    ),
  });
});

test('Basic with a wrong token is refused like a wrong Bearer token', async () => {
  const res = await send(gateway.url, { path: '/v1/apis/http/echo/account', headers: basic('', 'x'.repeat(40)) });
  expect(res.status).toBe(401);
  expect(res.json()).toEqual({ id: 'unauthorized', message: 'The token is not valid.' });
});
