import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fixture, makeTempDir, type TempDir } from '../helpers/config-files';
import { readRefusal, spawnGateway, stopGateway, type GatewayProcess } from '../helpers/gateway';
import { send } from '../helpers/http';
import { type OidcIssuer, startOidcIssuer } from '../helpers/oidc-issuer';
import { waitForOutput } from '../helpers/process-wait';
import { startEchoUpstream, type Upstream } from '../helpers/upstreams';

/**
 * A real gateway process on an Atlas config as Moment writes them: an AWS
 * adapter beside the HTTP one, and `spec.identityProviders` deciding who may
 * call. It runs with ATLAS_AUTH=none, as `npm start` does: the providers
 * still make every /v1 request authenticate.
 */

const SECRET = `moment-secret-${randomBytes(16).toString('hex')}`;

let upstream: Upstream;
let issuerA: OidcIssuer;
let issuerB: OidcIssuer;
let dir: TempDir;
let gateway: GatewayProcess;

/** The fixture with the local servers' addresses in, plus `edit` applied. */
function writeConfig(name: string, edit: (text: string) => string = (text) => text): string {
  const text = fs
    .readFileSync(fixture('moment-atlas-config.yaml'), 'utf8')
    .replaceAll('ISSUER_A', issuerA.issuer)
    .replaceAll('JWKS_A', issuerA.jwksUrl)
    .replaceAll('ISSUER_B', issuerB.issuer)
    .replaceAll('JWKS_B', issuerB.jwksUrl)
    .replaceAll('UPSTREAM_URL', upstream.url);
  return dir.write(name, edit(text));
}

function logLines(process: GatewayProcess): Record<string, unknown>[] {
  return process
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function bearer(issuer: OidcIssuer, subject: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await issuer.sign(issuer.claims(subject))}` };
}

beforeAll(async () => {
  [upstream, issuerA, issuerB] = await Promise.all([startEchoUpstream(), startOidcIssuer(), startOidcIssuer()]);
  dir = makeTempDir();
  gateway = await spawnGateway({ ATLAS_CONFIG: writeConfig('atlas.yaml'), ATLAS_AUTH: 'none', ECHO_API_KEY: SECRET });
  expect(gateway.stderr()).toBe('');
  expect(gateway.url).not.toBe('');
});

afterAll(async () => {
  await stopGateway(gateway);
  await Promise.all([upstream.close(), issuerA.close(), issuerB.close()]);
  dir.remove();
});

test('start-up warns once about the AWS adapter it skips and lists the identity providers by issuer', () => {
  const lines = logLines(gateway);
  const skips = lines.filter((line) => String(line.msg).includes('"aws"'));
  expect(skips).toEqual([
    expect.objectContaining({
      level: 'warn',
      msg: 'adapter "aws" has kind AWS: this gateway serves HTTP adapters only, so it is skipped',
    }),
  ]);
  const listening = lines.find((line) => line.msg === 'Atlas gateway listening')!;
  expect(listening.auth).toEqual([
    `JWTs of ${issuerA.issuer} for audience atlas-gateway`,
    `JWTs of ${issuerB.issuer} for audience atlas-gateway`,
  ]);
  expect(listening.adapters).toEqual([{ name: 'echo', baseUrl: upstream.url, available: true }]);
  expect(lines.some((line) => String(line.msg).includes('AUTHENTICATION IS OFF'))).toBe(false);
});

test('GET /v1/apis lists only the HTTP adapter it serves', async () => {
  const res = await send(gateway.url, { path: '/v1/apis', headers: await bearer(issuerA, 'lister') });
  expect(res.status).toBe(200);
  expect(res.json()).toEqual([{ kind: 'HTTP', name: 'echo', baseUrl: upstream.url }]);
});

test('a request to the AWS adapter gets 404 adapter_not_found naming its kind', async () => {
  const res = await send(gateway.url, {
    path: '/v1/apis/http/aws/buckets',
    headers: await bearer(issuerA, 'aws-user'),
  });
  expect(res.status).toBe(404);
  expect(res.headers['atlas-error']).toBe('adapter_not_found');
  expect(res.json()).toEqual({
    id: 'adapter_not_found',
    message: expect.stringMatching(/"aws" has kind AWS; this gateway serves HTTP adapters only/),
  });
});

test.each([
  ['the first provider', 0],
  ['the second provider', 1],
])('a JWT of %s is accepted and the adapter credential injected', async (_case, index) => {
  const issuer = [issuerA, issuerB][index]!;
  const res = await send(gateway.url, {
    path: '/v1/apis/http/echo/whoami',
    headers: await bearer(issuer, `user-${index}`),
  });
  expect(res.status).toBe(200);
  expect(upstream.seen.at(-1)!.headers.authorization).toBe(`Bearer ${SECRET}`);
  await waitForOutput(gateway, new RegExp(`"caller":"sub:user-${index}"`));
});

test('without credentials, with a token of an unlisted issuer or for another audience: 401, despite ATLAS_AUTH=none', async () => {
  const stranger = await startOidcIssuer();
  try {
    const cases = [
      {},
      await bearer(stranger, 'mallory'),
      { authorization: `Bearer ${await issuerA.sign({ ...issuerA.claims('mallory'), aud: 'another-api' })}` },
    ];
    for (const headers of cases) {
      const res = await send(gateway.url, { path: '/v1/apis/http/echo/whoami', headers });
      expect(res.status).toBe(401);
      expect(res.headers['atlas-error']).toBe('unauthorized');
    }
  } finally {
    await stranger.close();
  }
});

describe('an identity provider type the gateway cannot verify', () => {
  /** Adds an okta entry after the auth0 ones, at their indentation. */
  const withOkta = (text: string) => {
    const dash = /^( *)- auth0:/m.exec(text)![1]!;
    return text.replace(
      '  exposedPorts: {}',
      `${dash}- okta:\n${dash}    issuer: https://example.okta.com\n  exposedPorts: {}`,
    );
  };

  test('on a non-loopback HOST, start-up is refused naming it, with every other problem', async () => {
    const refused = await spawnGateway({
      ATLAS_CONFIG: writeConfig('okta.yaml', withOkta),
      HOST: '0.0.0.0',
      ATLAS_AUTH: 'none',
    });
    try {
      expect(refused.url).toBe('');
      expect(await refused.exited).toBe(1);
      expect(readRefusal(refused.stdout()).text).toMatch(
        /okta\.yaml:\d+:\d+ \(spec\.identityProviders\[2\]\.okta\): identity provider type "okta" is not supported/,
      );
      // The missing secret is reported in the same run.
      expect(readRefusal(refused.stdout()).text).toMatch(/adapter "echo".*ECHO_API_KEY is not set/);
    } finally {
      await stopGateway(refused);
    }
  });

  test('on loopback, the gateway starts and warns about it', async () => {
    const local = await spawnGateway({ ATLAS_CONFIG: writeConfig('okta-local.yaml', withOkta), ECHO_API_KEY: SECRET });
    try {
      expect(local.url).not.toBe('');
      expect(logLines(local)).toContainEqual(
        expect.objectContaining({ level: 'warn', msg: expect.stringContaining('"okta" is not supported') }),
      );
    } finally {
      await stopGateway(local);
    }
  });
});
