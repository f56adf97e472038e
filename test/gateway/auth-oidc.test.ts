import type { JWTPayload } from 'jose';
import { CALLER_AUTH, type InProcessGateway, startGateway } from '../helpers/gateway';
import { send } from '../helpers/http';
import {
  createSigningKey,
  hmacToken,
  type OidcIssuer,
  publicKeyPem,
  startOidcIssuer,
  unsignedToken,
} from '../helpers/oidc-issuer';
import { startEchoUpstream, type Upstream } from '../helpers/upstreams';

let issuer: OidcIssuer;
let upstream: Upstream;
let gateway: InProcessGateway;

beforeAll(async () => {
  issuer = await startOidcIssuer();
  upstream = await startEchoUpstream();
  gateway = await startGateway({
    adapters: [{ name: 'echo', baseUrl: upstream.url }],
    auth: {
      accessTokens: [],
      issuers: [{ issuer: issuer.issuer, audience: issuer.audience, jwksUrl: new URL(issuer.jwksUrl) }],
    },
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  await issuer?.close();
});

beforeEach(() => {
  upstream.seen.length = 0;
});

function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

function without(payload: JWTPayload, claim: string): JWTPayload {
  const { [claim]: _removed, ...rest } = payload;
  return rest;
}

async function requestLog(target: InProcessGateway, requestId: string): Promise<Record<string, unknown>> {
  // The line is written when the response closes, which can trail the client's view of it.
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const line = target.logs().find((entry) => entry.msg === 'request' && entry.requestId === requestId);
    if (line !== undefined) return line;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no request log line for ${requestId}`);
}

test.each(['RS256', 'ES256'] as const)(
  'a valid %s token is accepted and the request is logged with caller sub:<subject>',
  async (alg) => {
    const subject = `user-${alg.toLowerCase()}@example.com`;
    const token = await issuer.sign(issuer.claims(subject), { alg });

    const res = await send(gateway.url, { path: '/v1/apis/http/echo/whoami', headers: bearer(token) });

    expect(res.status).toBe(200);
    expect(upstream.seen).toHaveLength(1);
    expect(JSON.stringify(upstream.seen[0]!.rawHeaders)).not.toContain(token);
    const line = await requestLog(gateway, String(res.headers['x-request-id']));
    expect(line.caller).toBe(`sub:${subject}`);
    expect(line.status).toBe(200);
  },
);

test('a valid token is also accepted from the Atlas-Accesstoken header', async () => {
  const token = await issuer.sign(issuer.claims('atlas-header-user'));
  const res = await send(gateway.url, { path: '/v1/apis', headers: { 'atlas-accesstoken': token } });
  expect(res.status).toBe(200);
});

const now = () => Math.floor(Date.now() / 1000);

const rejected: [string, () => Promise<string>][] = [
  [
    'a bad signature (another RSA key publishing the same kid)',
    async () => {
      const impostor = await createSigningKey('RS256', issuer.keys.RS256.kid);
      return issuer.sign(issuer.claims('impostor'), { key: impostor.privateKey });
    },
  ],
  [
    'a bad signature (another EC key publishing the same kid)',
    async () => {
      const impostor = await createSigningKey('ES256', issuer.keys.ES256.kid);
      return issuer.sign(issuer.claims('impostor'), { alg: 'ES256', key: impostor.privateKey });
    },
  ],
  ['a wrong iss', () => issuer.sign({ ...issuer.claims('alice'), iss: 'https://other-issuer.example' })],
  ['a wrong aud', () => issuer.sign({ ...issuer.claims('alice'), aud: 'some-other-service' })],
  [
    'an exp well in the past (beyond the clock tolerance)',
    () => issuer.sign({ ...issuer.claims('alice'), iat: now() - 3600, nbf: now() - 3600, exp: now() - 120 }),
  ],
  ['an nbf far in the future', () => issuer.sign({ ...issuer.claims('alice'), nbf: now() + 3600 })],
  ['no exp', () => issuer.sign(without(issuer.claims('alice'), 'exp'))],
  ['no sub', () => issuer.sign(without(issuer.claims('alice'), 'sub'))],
  ['alg none (unsigned)', () => Promise.resolve(unsignedToken(issuer.claims('alice')))],
  [
    'HS256 signed with the RSA public key PEM as the HMAC secret',
    async () => hmacToken(issuer.claims('alice'), await publicKeyPem(issuer.keys.RS256), issuer.keys.RS256.kid),
  ],
  [
    'HS256 signed with the RSA public JWK JSON as the HMAC secret',
    () =>
      Promise.resolve(
        hmacToken(issuer.claims('alice'), JSON.stringify(issuer.keys.RS256.publicJwk), issuer.keys.RS256.kid),
      ),
  ],
  [
    'HS256 signed with the RSA modulus bytes as the HMAC secret',
    () =>
      Promise.resolve(
        hmacToken(
          issuer.claims('alice'),
          Buffer.from(issuer.keys.RS256.publicJwk.n!, 'base64url'),
          issuer.keys.RS256.kid,
        ),
      ),
  ],
  ['an unknown kid', () => issuer.sign(issuer.claims('alice'), { kid: 'no-such-key' })],
  ['a garbage string', () => Promise.resolve('this-is-not-a-jwt-at-all-0123456789')],
  ['three dot-separated garbage segments', () => Promise.resolve('abc.def.ghi')],
  [
    'a JWT header and payload with no signature segment',
    async () => (await issuer.sign(issuer.claims('alice'))).split('.').slice(0, 2).join('.'),
  ],
];

test.each(rejected)(
  'a token with %s is refused with 401 unauthorized and nothing reaches the upstream',
  async (_case, makeToken) => {
    const token = await makeToken();

    const res = await send(gateway.url, { path: '/v1/apis/http/echo/whoami', headers: bearer(token) });

    expect(res.status).toBe(401);
    expect(res.json()).toEqual({ id: 'unauthorized', message: expect.any(String) });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="atlas"');
    expect(upstream.seen).toHaveLength(0);
    const line = await requestLog(gateway, String(res.headers['x-request-id']));
    expect(line.status).toBe(401);
    expect(line.error).toBe('unauthorized');
  },
);

test('with the JWKS server down, a token is refused with 401 and the gateway keeps serving', async () => {
  const downIssuer = await startOidcIssuer();
  const token = await downIssuer.sign(downIssuer.claims('alice'));
  await downIssuer.close();
  const isolated = await startGateway({
    adapters: [{ name: 'echo', baseUrl: upstream.url }],
    auth: {
      accessTokens: [],
      issuers: [{ issuer: downIssuer.issuer, audience: downIssuer.audience, jwksUrl: new URL(downIssuer.jwksUrl) }],
    },
  });
  try {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const res = await send(isolated.url, { path: '/v1/apis/http/echo/whoami', headers: bearer(token) });
      expect(res.status).toBe(401);
      expect(res.json()).toEqual({ id: 'unauthorized', message: expect.any(String) });
    }
    expect(upstream.seen).toHaveLength(0);

    const health = await send(isolated.url, { path: '/healthz' });
    expect(health.status).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
  } finally {
    await isolated.close();
  }
});

test('with both static tokens and OIDC configured, a static token and an OIDC token both work', async () => {
  const both = await startGateway({
    adapters: [{ name: 'echo', baseUrl: upstream.url }],
    auth: {
      issuers: [{ issuer: issuer.issuer, audience: issuer.audience, jwksUrl: new URL(issuer.jwksUrl) }],
    },
  });
  try {
    const viaStatic = await send(both.url, { path: '/v1/apis/http/echo/static', headers: CALLER_AUTH });
    expect(viaStatic.status).toBe(200);
    expect((await requestLog(both, String(viaStatic.headers['x-request-id']))).caller).toMatch(/^token:/);

    const jwt = await issuer.sign(issuer.claims('both-user'));
    const viaOidc = await send(both.url, { path: '/v1/apis/http/echo/oidc', headers: bearer(jwt) });
    expect(viaOidc.status).toBe(200);
    expect((await requestLog(both, String(viaOidc.headers['x-request-id']))).caller).toBe('sub:both-user');

    const wrong = await send(both.url, {
      path: '/v1/apis/http/echo/wrong',
      headers: bearer(`${CALLER_AUTH.authorization.slice(7)}x`),
    });
    expect(wrong.status).toBe(401);
    expect(upstream.seen.map((seen) => seen.url)).toEqual(['/static', '/oidc']);
  } finally {
    await both.close();
  }
});
