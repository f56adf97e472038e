import type { OutgoingHttpHeaders } from 'node:http';
import { spawnGateway, stopGateway, type GatewayProcess } from '../helpers/gateway';
import { send } from '../helpers/http';
import { type OidcIssuer, startOidcIssuer } from '../helpers/oidc-issuer';
import { startEchoUpstream, type Upstream } from '../helpers/upstreams';

/**
 * Per-adapter access rules, against a real gateway process with named static
 * callers and a JWT issuer: a read-only CI caller, an ops caller, an ops
 * group by JWT claim and one JWT subject.
 */

const CI = 'ci-token-5f0c2e9b7d13a4c68e21f0b9d7a3c5e1';
const OPS = 'ops-token-91d3e7a0c2f84b6d0e5a7c9b1f3d5e7a';
const OTHER = 'other-token-0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f';
const HEROKU_KEY = 'heroku-key-3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c';

let upstream: Upstream;
let issuer: OidcIssuer;
let gateway: GatewayProcess;

beforeAll(async () => {
  [upstream, issuer] = await Promise.all([startEchoUpstream(), startOidcIssuer()]);
  gateway = await spawnGateway({
    ATLAS_ACCESS_TOKENS: `ci=${CI},ops=${OPS},other=${OTHER}`,
    ATLAS_OIDC_ISSUER: issuer.issuer,
    ATLAS_OIDC_AUDIENCE: issuer.audience,
    ATLAS_OIDC_JWKS_URL: issuer.jwksUrl,
    HEROKU_API_KEY: HEROKU_KEY,
    ATLAS_ADAPTERS: JSON.stringify([
      {
        name: 'heroku',
        baseUrl: `${upstream.url}/api`,
        headers: [{ name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' }],
        access: [
          { callers: ['ci'], methods: ['GET'], paths: ['/apps', '/apps/*', '/apps/*/releases/**'] },
          { callers: ['ops', 'claim:groups=ops'] },
          { callers: ['sub:deployer'], methods: ['PATCH'], paths: ['/apps/*/config-vars'] },
          // No ATLAS_ACCESS_TOKENS entry names it: a start-up warning, and the rule matches nobody.
          { callers: ['auditor'], methods: ['GET'] },
        ],
      },
      { name: 'open', baseUrl: upstream.url },
    ]),
  });
  expect(gateway.url).not.toBe('');
});

afterAll(async () => {
  await stopGateway(gateway);
  await Promise.all([upstream.close(), issuer.close()]);
});

const bearer = (token: string): OutgoingHttpHeaders => ({ authorization: `Bearer ${token}` });

async function jwt(subject: string, extra: Record<string, unknown> = {}): Promise<OutgoingHttpHeaders> {
  return bearer(await issuer.sign({ ...issuer.claims(subject), ...extra }));
}

function logLine(requestId: string | string[] | undefined): Record<string, unknown> {
  const line = gateway
    .stdout()
    .split('\n')
    .filter(Boolean)
    .map((text) => JSON.parse(text) as Record<string, unknown>)
    .find((entry) => entry.msg === 'request' && entry.requestId === requestId);
  if (line === undefined) throw new Error(`no request log line for ${String(requestId)}`);
  return line;
}

async function waitForLog(requestId: string | string[] | undefined): Promise<Record<string, unknown>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return logLine(requestId);
    } catch (error) {
      if (attempt > 500) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

test.each<[string, string, string, () => OutgoingHttpHeaders | Promise<OutgoingHttpHeaders>, string]>([
  ['ci lists apps', 'GET', '/apps', () => bearer(CI), '/api/apps'],
  ['ci reads one app', 'GET', '/apps/my-app', () => bearer(CI), '/api/apps/my-app'],
  ['ci sends HEAD where it may GET', 'HEAD', '/apps/my-app', () => bearer(CI), '/api/apps/my-app'],
  [
    'ci reads releases deep down (**)',
    'GET',
    '/apps/my-app/releases/42/slug',
    () => bearer(CI),
    '/api/apps/my-app/releases/42/slug',
  ],
  [
    'ci reads the releases list itself (** matching nothing)',
    'GET',
    '/apps/my-app/releases',
    () => bearer(CI),
    '/api/apps/my-app/releases',
  ],
  ['ops deletes an app', 'DELETE', '/apps/my-app', () => bearer(OPS), '/api/apps/my-app'],
  [
    'a JWT whose groups claim holds "ops" deletes an app',
    'DELETE',
    '/apps/my-app',
    () => jwt('alice', { groups: ['dev', 'ops'] }),
    '/api/apps/my-app',
  ],
  [
    'the deployer subject patches config vars',
    'PATCH',
    '/apps/my-app/config-vars',
    () => jwt('deployer'),
    '/api/apps/my-app/config-vars',
  ],
  [
    'ci with an encoded unreserved letter (normalized, then forwarded so)',
    'GET',
    '/%61pps/my-app',
    () => bearer(CI),
    '/api/apps/my-app',
  ],
])('allowed: %s, forwarded with the adapter credentials', async (_case, method, path, headers, upstreamPath) => {
  const before = upstream.seen.length;
  const res = await send(gateway.url, { method, path: `/v1/apis/http/heroku${path}`, headers: await headers() });

  expect(res.status).toBe(200);
  expect(upstream.seen).toHaveLength(before + 1);
  expect(upstream.seen[before]!.url).toBe(upstreamPath);
  expect(upstream.seen[before]!.headers.authorization).toBe(`Bearer ${HEROKU_KEY}`);
});

test.each<[string, string, string, () => OutgoingHttpHeaders | Promise<OutgoingHttpHeaders>, string]>([
  ['ci deletes an app (method)', 'DELETE', '/apps/my-app', () => bearer(CI), 'token:ci'],
  ['ci reads config vars (path)', 'GET', '/apps/my-app/config-vars', () => bearer(CI), 'token:ci'],
  ['ci reads the account (path)', 'GET', '/account', () => bearer(CI), 'token:ci'],
  ['ci at the adapter root (path)', 'GET', '', () => bearer(CI), 'token:ci'],
  ['other, named in no rule (caller)', 'GET', '/apps', () => bearer(OTHER), 'token:other'],
  ['a JWT without the ops group (caller)', 'GET', '/apps', () => jwt('bob', { groups: ['dev'] }), 'sub:bob'],
  [
    'a JWT whose groups claim is "ops-admins" (no partial match)',
    'GET',
    '/apps',
    () => jwt('carol', { groups: 'ops-admins' }),
    'sub:carol',
  ],
  ['the deployer subject with GET (method)', 'GET', '/apps/my-app/config-vars', () => jwt('deployer'), 'sub:deployer'],
  ['the deployer subject on another path (path)', 'PATCH', '/apps/my-app', () => jwt('deployer'), 'sub:deployer'],
  ['ci with an encoded slash inside one segment', 'GET', '/apps/my-app%2Fconfig-vars', () => bearer(CI), 'token:ci'],
  ['ci with a lower-case encoded slash', 'GET', '/apps/x%2fconfig-vars', () => bearer(CI), 'token:ci'],
  ['ci with an empty segment where * is', 'GET', '/apps//releases', () => bearer(CI), 'token:ci'],
  ['ci with an encoded letter spelling config-vars', 'GET', '/apps/x/%63onfig-vars', () => bearer(CI), 'token:ci'],
  ['ci with a trailing slash after one app', 'GET', '/apps/my-app/', () => bearer(CI), 'token:ci'],
  ['ci with a different case', 'GET', '/APPS/my-app/config-vars', () => bearer(CI), 'token:ci'],
])(
  'refused: %s, 403 forbidden naming caller and adapter, nothing forwarded, a warn line',
  async (_case, method, path, headers, caller) => {
    const before = upstream.seen.length;
    const res = await send(gateway.url, { method, path: `/v1/apis/http/heroku${path}`, headers: await headers() });

    expect(res.status).toBe(403);
    expect(res.headers['atlas-error']).toBe('forbidden');
    const body = res.json<{ id: string; message: string }>();
    expect(body.id).toBe('forbidden');
    expect(body.message).toContain(`"${caller}"`);
    expect(body.message).toContain('"heroku"');
    // The message names neither the rules nor the paths they allow.
    expect(body.message).not.toMatch(/config-vars|releases|claim:|groups|GET|PATCH/);
    expect(upstream.seen).toHaveLength(before);

    const line = await waitForLog(res.headers['x-request-id']);
    expect(line).toMatchObject({ level: 'warn', status: 403, error: 'forbidden', caller, adapter: 'heroku' });
  },
);

test('dot segments stay a 400 whatever the rules allow, and are never matched against them', async () => {
  const res = await send(gateway.url, { path: '/v1/apis/http/heroku/apps/x/%2e%2e/config-vars', headers: bearer(CI) });
  expect(res.status).toBe(400);
  expect(res.headers['atlas-error']).toBe('bad_request');
});

test('an adapter without rules serves every authenticated caller, as before', async () => {
  for (const headers of [bearer(CI), bearer(OTHER), await jwt('anyone')]) {
    const res = await send(gateway.url, { method: 'DELETE', path: '/v1/apis/http/open/anything', headers });
    expect(res.status).toBe(200);
  }
});

test.each<[string, () => OutgoingHttpHeaders | Promise<OutgoingHttpHeaders>, string[]]>([
  ['ci (named by a rule)', () => bearer(CI), ['heroku', 'open']],
  ['other (named by no rule)', () => bearer(OTHER), ['open']],
  ['a JWT in the ops group', () => jwt('dave', { groups: ['ops'] }), ['heroku', 'open']],
  ['a JWT outside it', () => jwt('erin'), ['open']],
])('GET /v1/apis lists to %s only the adapters it may use', async (_case, headers, names) => {
  const res = await send(gateway.url, { path: '/v1/apis', headers: await headers() });
  expect(res.status).toBe(200);
  expect(res.json<{ name: string }[]>().map(({ name }) => name)).toEqual(names);
});

test('the request log names static callers by name, never by token', async () => {
  const res = await send(gateway.url, { path: '/v1/apis/http/heroku/apps', headers: bearer(CI) });
  expect(res.status).toBe(200);
  expect(await waitForLog(res.headers['x-request-id'])).toMatchObject({ caller: 'token:ci', level: 'info' });
  for (const token of [CI, OPS, OTHER, HEROKU_KEY]) expect(gateway.stdout()).not.toContain(token);
});

test('a rule naming a static caller that no token names is a start-up warning', () => {
  const warnings = gateway
    .stdout()
    .split('\n')
    .filter(Boolean)
    .map((text) => JSON.parse(text) as Record<string, unknown>)
    .filter((entry) => entry.level === 'warn')
    .map((entry) => entry.msg);
  expect(warnings).toContain(
    'adapter "heroku": its access rules name the caller "auditor", which no ATLAS_ACCESS_TOKENS entry names (auditor=<token>): those rules match nobody',
  );
});
