import { readSettings } from '../../gateway/src/settings';
import { configError } from '../helpers/config-files';

const TOKEN = 'settings-token-0123456789abcdef0123456789';
const AUTH = { ATLAS_ACCESS_TOKENS: TOKEN };
const OIDC = {
  ATLAS_OIDC_ISSUER: 'https://issuer.example.com/',
  ATLAS_OIDC_AUDIENCE: 'atlas',
  ATLAS_OIDC_JWKS_URL: 'https://issuer.example.com/.well-known/jwks.json',
};

test('defaults: port 8080 on 127.0.0.1, adapters from Pulumi.dev.yaml, log level info', () => {
  const settings = readSettings(AUTH);

  expect(settings).toMatchObject({
    port: 8080,
    host: '127.0.0.1',
    adapterSource: { kind: 'file', path: 'Pulumi.dev.yaml' },
    logLevel: 'info',
    auth: { accessTokens: [{ caller: 'default', token: TOKEN }], oidc: undefined, none: false, oidcRequested: false },
  });
  expect(Object.isFrozen(settings)).toBe(true);
});

test.each([
  [
    'ATLAS_ADAPTERS wins over ATLAS_CONFIG',
    { ATLAS_ADAPTERS: '[]', ATLAS_CONFIG: 'atlas.yaml' },
    { kind: 'json', text: '[]' },
  ],
  [
    'ATLAS_CONFIG names the file',
    { ATLAS_CONFIG: '/etc/atlas/atlas.yaml' },
    { kind: 'file', path: '/etc/atlas/atlas.yaml' },
  ],
  [
    'an empty ATLAS_ADAPTERS falls back to ATLAS_CONFIG',
    { ATLAS_ADAPTERS: ' ', ATLAS_CONFIG: 'a.yaml' },
    { kind: 'file', path: 'a.yaml' },
  ],
  [
    'an empty ATLAS_CONFIG falls back to the default file',
    { ATLAS_CONFIG: '' },
    { kind: 'file', path: 'Pulumi.dev.yaml' },
  ],
])('adapter source: %s', (_case, env, source) => {
  expect(readSettings({ ...AUTH, ...env }).adapterSource).toEqual(source);
});

test.each([
  ['PORT and HOST as given', { PORT: '9090', HOST: '0.0.0.0' }, { port: 9090, host: '0.0.0.0' }],
  ['PORT 0 (any free port)', { PORT: '0' }, { port: 0 }],
  ['ATLAS_LOG_LEVEL', { ATLAS_LOG_LEVEL: 'debug' }, { logLevel: 'debug' }],
])('reads %s', (_case, env, expected) => {
  expect(readSettings({ ...AUTH, ...env })).toMatchObject(expected);
});

test('several comma-separated tokens and a complete OIDC configuration are all kept', () => {
  const second = 'second-token-abcdefghijklmnopqrstuvwxyz012345';
  const settings = readSettings({ ATLAS_ACCESS_TOKENS: ` ${TOKEN} , ${second},`, ...OIDC });

  expect(settings.auth.accessTokens).toEqual([
    { caller: 'default', token: TOKEN },
    { caller: 'default', token: second },
  ]);
  expect(settings.auth.oidc).toEqual({
    issuer: OIDC.ATLAS_OIDC_ISSUER,
    audience: 'atlas',
    jwksUrl: new URL(OIDC.ATLAS_OIDC_JWKS_URL),
  });
});

test('NAME=TOKEN entries name their callers; bare tokens are the caller "default"; a name may have several tokens', () => {
  const ci = 'ci-token-0123456789abcdef0123456789abcdef';
  const ops = 'ops-token-0123456789abcdef0123456789abcdef';
  const opsNext = 'ops-next-token-0123456789abcdef0123456789';
  const settings = readSettings({ ATLAS_ACCESS_TOKENS: `ci=${ci}, ops = ${ops},${TOKEN},ops=${opsNext}` });

  expect(settings.auth.accessTokens).toEqual([
    { caller: 'ci', token: ci },
    { caller: 'ops', token: ops },
    { caller: 'default', token: TOKEN },
    { caller: 'ops', token: opsNext },
  ]);
});

test('a token holding "=" (base64 padding) after something that is not a caller name stays one bare token', () => {
  const base64 = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0MjQyNDI0Mg==';
  const settings = readSettings({ ATLAS_ACCESS_TOKENS: base64 });

  expect(settings.auth.accessTokens).toEqual([{ caller: 'default', token: base64 }]);
});

test('one token given to two callers is refused, naming both', () => {
  expect(configError(() => readSettings({ ATLAS_ACCESS_TOKENS: `ci=${TOKEN},ops=${TOKEN}` })).problems).toEqual([
    {
      where: 'ATLAS_ACCESS_TOKENS',
      message: expect.stringMatching(/callers "ci" and "ops" have the same token/) as unknown,
    },
  ]);
});

test('an http JWKS URL is accepted on a loopback address', () => {
  const settings = readSettings({ ...OIDC, ATLAS_OIDC_JWKS_URL: 'http://127.0.0.1:9999/jwks.json' });

  expect(settings.auth.oidc?.jwksUrl.href).toBe('http://127.0.0.1:9999/jwks.json');
});

interface Refusal {
  readonly env: Record<string, string>;
  /** Every problem expected, as [where, message pattern]. */
  readonly problems: [string, RegExp][];
  /** Text that must not appear anywhere in the error. */
  readonly secret?: string;
}

const REFUSALS: [string, Refusal][] = [
  ['PORT that is not a number', { env: { ...AUTH, PORT: 'http' }, problems: [['PORT', /"http".*8080/]] }],
  ['PORT above 65535', { env: { ...AUTH, PORT: '65536' }, problems: [['PORT', /"65536"/]] }],
  ['a negative PORT', { env: { ...AUTH, PORT: '-1' }, problems: [['PORT', /"-1"/]] }],
  ['a fractional PORT', { env: { ...AUTH, PORT: '80.5' }, problems: [['PORT', /"80.5"/]] }],
  [
    'a caller token shorter than 32 characters',
    {
      env: { ATLAS_ACCESS_TOKENS: `${TOKEN},short-Tok3n-value` },
      problems: [['ATLAS_ACCESS_TOKENS', /token 2 has 17 characters.*at least 32/]],
      secret: 'short-Tok3n-value',
    },
  ],
  [
    'OIDC with only the issuer',
    {
      env: { ...AUTH, ATLAS_OIDC_ISSUER: OIDC.ATLAS_OIDC_ISSUER },
      problems: [
        ['ATLAS_OIDC_AUDIENCE', /required/],
        ['ATLAS_OIDC_JWKS_URL', /required/],
      ],
    },
  ],
  [
    'half-set OIDC with nothing else, naming only the missing OIDC variables',
    {
      env: { ATLAS_OIDC_ISSUER: OIDC.ATLAS_OIDC_ISSUER, ATLAS_OIDC_JWKS_URL: OIDC.ATLAS_OIDC_JWKS_URL },
      problems: [['ATLAS_OIDC_AUDIENCE', /required/]],
    },
  ],
  [
    'OIDC without the audience',
    { env: { ...AUTH, ...OIDC, ATLAS_OIDC_AUDIENCE: '' }, problems: [['ATLAS_OIDC_AUDIENCE', /required/]] },
  ],
  [
    'an http JWKS URL on a non-loopback host',
    {
      env: { ...AUTH, ...OIDC, ATLAS_OIDC_JWKS_URL: 'http://issuer.example.com/.well-known/jwks.json' },
      problems: [['ATLAS_OIDC_JWKS_URL', /must use https/]],
    },
  ],
  [
    'a JWKS URL that is not a URL',
    {
      env: { ...AUTH, ...OIDC, ATLAS_OIDC_JWKS_URL: 'issuer/jwks.json' },
      problems: [['ATLAS_OIDC_JWKS_URL', /absolute URL/]],
    },
  ],
  ['an unknown ATLAS_AUTH value', { env: { ...AUTH, ATLAS_AUTH: 'off' }, problems: [['ATLAS_AUTH', /"off"/]] }],
  [
    'an unknown ATLAS_LOG_LEVEL',
    { env: { ...AUTH, ATLAS_LOG_LEVEL: 'verbose' }, problems: [['ATLAS_LOG_LEVEL', /"verbose".*info/]] },
  ],
];

test.each(REFUSALS)('refuses %s, saying where and how to fix it', (_case, { env, problems, secret }) => {
  const error = configError(() => readSettings(env));

  expect(error.problems).toEqual(
    problems.map(([where, message]) => ({ where, message: expect.stringMatching(message) })),
  );
  if (secret !== undefined) {
    expect(error.message).not.toContain(secret);
    expect(JSON.stringify(error.problems)).not.toContain(secret);
  }
});

test('every problem of the environment is listed at once', () => {
  const error = configError(() =>
    readSettings({
      PORT: 'eighty',
      ATLAS_LOG_LEVEL: 'loud',
      ATLAS_ACCESS_TOKENS: 'too-short',
      ATLAS_OIDC_ISSUER: OIDC.ATLAS_OIDC_ISSUER,
      ATLAS_AUTH: 'maybe',
    }),
  );

  expect(error.problems.map((problem) => problem.where).sort()).toEqual([
    'ATLAS_ACCESS_TOKENS',
    'ATLAS_AUTH',
    'ATLAS_LOG_LEVEL',
    'ATLAS_OIDC_AUDIENCE',
    'ATLAS_OIDC_JWKS_URL',
    'PORT',
  ]);
  for (const { where } of error.problems) expect(error.message).toContain(`${where}:`);
});
