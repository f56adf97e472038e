import { resolveCallerAuth } from '../../gateway/src/auth/caller-auth';
import { readSettings } from '../../gateway/src/settings';

/**
 * Who may call, decided from the environment and the config file's identity
 * providers together: they add up, and ATLAS_AUTH=none matters only when
 * nothing configures caller authentication.
 */

const TOKEN = 'caller-auth-token-0123456789abcdef012345';
const OIDC = {
  ATLAS_OIDC_ISSUER: 'https://issuer.example.com/',
  ATLAS_OIDC_AUDIENCE: 'atlas',
  ATLAS_OIDC_JWKS_URL: 'https://issuer.example.com/.well-known/jwks.json',
};
const NO_PROVIDERS = { issuers: [], unsupported: [] };
const CONFIG_ISSUER = {
  issuer: 'https://tenant.example.auth0.com/',
  audience: 'https://atlas.example.com',
  jwksUrl: new URL('https://tenant.example.auth0.com/.well-known/jwks.json'),
};

function resolve(env: Record<string, string>, config: Parameters<typeof resolveCallerAuth>[2] = NO_PROVIDERS) {
  const settings = readSettings(env);
  return resolveCallerAuth(settings.auth, settings.host, config);
}

test.each([
  ['HOST=127.0.0.1', '127.0.0.1'],
  ['HOST=::1', '::1'],
  ['HOST=localhost', 'localhost'],
])('ATLAS_AUTH=none with nothing configured, on %s, turns caller authentication off', (_case, host) => {
  const { auth, problems } = resolve({ ATLAS_AUTH: 'none', HOST: host });

  expect(problems).toEqual([]);
  expect(auth).toEqual({ accessTokens: [], issuers: [], disabled: true });
});

test.each([
  [
    'static tokens',
    { ATLAS_ACCESS_TOKENS: TOKEN },
    { accessTokens: [{ caller: 'default', token: TOKEN }], issuers: [] },
  ],
  ['OIDC', OIDC, { accessTokens: [], issuers: [expect.objectContaining({ issuer: OIDC.ATLAS_OIDC_ISSUER })] }],
])('ATLAS_AUTH=none with %s configured is ignored, on loopback and on 0.0.0.0 alike', (_case, env, expected) => {
  for (const host of ['127.0.0.1', '0.0.0.0']) {
    const { auth, problems } = resolve({ ATLAS_AUTH: 'none', HOST: host, ...env });
    expect(problems).toEqual([]);
    expect(auth).toEqual({ ...expected, disabled: false });
  }
});

test('identity providers from the config count as configured: ATLAS_AUTH=none does not switch them off', () => {
  const { auth, problems } = resolve({ ATLAS_AUTH: 'none' }, { issuers: [CONFIG_ISSUER], unsupported: [] });

  expect(problems).toEqual([]);
  expect(auth).toEqual({ accessTokens: [], issuers: [CONFIG_ISSUER], disabled: false });
});

test('tokens, the ATLAS_OIDC_* issuer and the config providers add up', () => {
  const { auth } = resolve({ ATLAS_ACCESS_TOKENS: TOKEN, ...OIDC }, { issuers: [CONFIG_ISSUER], unsupported: [] });

  expect(auth.accessTokens).toEqual([{ caller: 'default', token: TOKEN }]);
  expect(auth.issuers.map(({ issuer }) => issuer)).toEqual([OIDC.ATLAS_OIDC_ISSUER, CONFIG_ISSUER.issuer]);
  expect(auth.disabled).toBe(false);
});

test('nothing configured and no ATLAS_AUTH is refused, naming every way to configure callers', () => {
  const { problems } = resolve({});

  expect(problems).toEqual([
    {
      where: 'ATLAS_ACCESS_TOKENS',
      message: expect.stringMatching(
        /ATLAS_ACCESS_TOKENS.*ATLAS_OIDC_ISSUER.*spec\.identityProviders.*ATLAS_AUTH=none/,
      ),
    },
  ]);
});

test('when the config file could not be read, "nothing configured" is not claimed', () => {
  const settings = readSettings({});
  expect(resolveCallerAuth(settings.auth, settings.host, undefined).problems).toEqual([]);
});

test.each([['0.0.0.0'], ['::'], ['192.168.1.20']])(
  'ATLAS_AUTH=none with nothing configured on HOST=%s is refused',
  (host) => {
    const { problems } = resolve({ ATLAS_AUTH: 'none', HOST: host });

    expect(problems).toEqual([
      { where: 'ATLAS_AUTH', message: expect.stringContaining(`HOST=${host} is not a loopback`) },
    ]);
  },
);

test('an unsupported provider type is a warning on loopback and a refusal elsewhere, never ignored', () => {
  const unsupported = [{ type: 'okta', where: 'atlas.yaml:9:7 (spec.identityProviders[1].okta)' }];

  const local = resolve({ ATLAS_ACCESS_TOKENS: TOKEN }, { issuers: [], unsupported });
  expect(local.problems).toEqual([]);
  expect(local.warnings).toEqual([
    expect.stringMatching(/spec\.identityProviders\[1\]\.okta.*"okta" is not supported/),
  ]);

  const exposed = resolve({ ATLAS_ACCESS_TOKENS: TOKEN, HOST: '0.0.0.0' }, { issuers: [], unsupported });
  expect(exposed.problems).toEqual([
    { where: unsupported[0]!.where, message: expect.stringContaining('"okta" is not supported') },
  ]);
});
