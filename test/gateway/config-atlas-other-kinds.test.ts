import { parseAdapterFile } from '../../gateway/src/config/parse-adapters';
import { atlasConfig, configError, httpDocument } from '../helpers/config-files';

/**
 * Atlas configs list adapters of other kinds (AWS, Moment, Postgres, kinds
 * not yet invented) beside HTTP ones, and say who may call in
 * `spec.identityProviders`. The reader keeps the first apart and honours
 * the second; what is broken stays an error.
 */

const HEROKU = httpDocument('heroku', '  baseUrl: https://api.heroku.com');

function otherDocument(kind: string, name: string): string {
  return [
    'apiVersion: moment.dev/adapters/v1alpha1',
    `kind: ${kind}`,
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  region: us-east-1',
    '',
  ].join('\n');
}

function withProviders(text: string, providers: string): string {
  return text.replace('  exposedPorts: {}\n', `  identityProviders:\n${providers}  exposedPorts: {}\n`);
}

test.each(['AWS', 'Moment', 'Postgres', 'SomethingNew'])(
  'an adapter of kind %s is kept apart as skipped, and the HTTP adapters are read as before',
  (kind) => {
    const parsed = parseAdapterFile(
      atlasConfig([{ name: 'other', kind }, { name: 'heroku' }], otherDocument(kind, 'other'), HEROKU),
      'atlas.yaml',
    );
    expect(parsed.adapters.map(({ name }) => name)).toEqual(['heroku']);
    expect(parsed.skipped).toEqual([{ name: 'other', kind }]);
    expect(parsed.warnings).toEqual([]);
  },
);

test.each([
  [
    'a duplicate name across kinds',
    atlasConfig([{ name: 'heroku' }], HEROKU, otherDocument('AWS', 'heroku')),
    /document 3.*"heroku" already names the HTTP adapter of document 2: adapter names must be unique across kinds/,
  ],
  [
    'an AWS adapterRef with no matching document',
    atlasConfig([{ name: 'aws', kind: 'AWS' }, { name: 'heroku' }], HEROKU),
    /spec\.apiAdapters\[0\].*adapterRef "aws" has no matching document: add a "kind: AWS" document with "metadata.name: aws"/,
  ],
  [
    'an adapterRef whose kind differs from its document',
    atlasConfig([{ name: 'aws', kind: 'AWS' }], otherDocument('Moment', 'aws')),
    /adapterRef "aws" has kind AWS, but the document named "aws" \(document 2\) has kind Moment/,
  ],
  [
    'a broken HTTP adapter beside an AWS one',
    atlasConfig(
      [{ name: 'aws', kind: 'AWS' }, { name: 'broken' }],
      otherDocument('AWS', 'aws'),
      httpDocument('broken', '  baseUrl: api.example.com'),
    ),
    /document 3, spec\.baseUrl.*"api\.example\.com" is not an absolute URL/,
  ],
])('%s is still an error', (_case, text, message) => {
  const error = configError(() => parseAdapterFile(text, 'atlas.yaml'));
  expect(error.message).toMatch(message);
});

describe('spec.identityProviders', () => {
  const base = atlasConfig([{ name: 'heroku' }], HEROKU);

  test('auth0 entries become JWT issuers; other types are reported, never dropped', () => {
    const parsed = parseAdapterFile(
      withProviders(
        base,
        [
          '  - auth0:',
          '      issuer: https://tenant.us.auth0.com/',
          '      audience: https://atlas.example.com',
          '      publicKey: https://tenant.us.auth0.com/.well-known/jwks.json',
          '  - okta:',
          '      issuer: https://example.okta.com',
          '',
        ].join('\n'),
      ),
      'atlas.yaml',
    );
    expect(parsed.identityProviders.issuers).toEqual([
      {
        issuer: 'https://tenant.us.auth0.com/',
        audience: 'https://atlas.example.com',
        jwksUrl: new URL('https://tenant.us.auth0.com/.well-known/jwks.json'),
      },
    ]);
    expect(parsed.identityProviders.unsupported).toEqual([
      { type: 'okta', where: expect.stringMatching(/^atlas\.yaml:\d+:\d+ \(spec\.identityProviders\[1\]\.okta\)$/) },
    ]);
  });

  test.each([
    [
      'an auth0 entry without publicKey',
      '  - auth0:\n      issuer: https://t.auth0.com/\n      audience: a\n',
      /auth0 provider needs "publicKey"/,
    ],
    [
      'a JWKS URL over plain http to another host',
      '  - auth0:\n      issuer: https://t.auth0.com/\n      audience: a\n      publicKey: http://t.auth0.com/jwks.json\n',
      /spec\.identityProviders\[0\]\.auth0\.publicKey.*must use https/,
    ],
    ['an entry with two types', '  - auth0: {}\n    okta: {}\n', /one key naming its type/],
  ])('%s is an error', (_case, providers, message) => {
    const error = configError(() => parseAdapterFile(withProviders(base, providers), 'atlas.yaml'));
    expect(error.message).toMatch(message);
  });

  test('identityProviders that is not a list is an error', () => {
    const text = base.replace('  exposedPorts: {}\n', '  identityProviders: auth0\n  exposedPorts: {}\n');
    expect(configError(() => parseAdapterFile(text, 'atlas.yaml')).message).toMatch(
      /spec\.identityProviders.*must be a list/,
    );
  });
});
