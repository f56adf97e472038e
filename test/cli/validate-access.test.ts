import { atlasConfig, httpDocument } from '../helpers/config-files';
import { makeCliTempDirs, runAtlas } from '../helpers/cli-run';

const dirs = makeCliTempDirs();
afterAll(() => dirs.removeAll());

const stack = (callers: string | undefined) =>
  [
    'config:',
    ...(callers === undefined ? [] : [`  atlas:callers: ${callers}`]),
    '  atlas:adapters:',
    '    - name: heroku',
    '      baseUrl: https://api.heroku.com',
    '      access:',
    '        - callers: [ci]',
    '          methods: [GET]',
    '          paths: [/apps, "/apps/*"]',
    '        - callers: [ops, "claim:groups=ops"]',
    '      rateLimit: { requests: 100, perSeconds: 60, burst: 20 }',
    '',
  ].join('\n');

test.concurrent(
  'a stack config whose rules name only callers of atlas:callers is valid, and says who may call',
  async () => {
    const dir = dirs.make();
    const file = dir.write('Pulumi.staging.yaml', stack('[default, ci, ops]'));

    const result = await runAtlas(['config', 'validate', '-f', file]);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.out.split('\n')).toEqual([
      `${file}: valid Pulumi stack config, 1 adapter(s): heroku`,
      'heroku: access rules (2) for ci, ops, claim:groups=ops',
      'heroku: 100 requests per 60 s per caller, bursts of 20, in each gateway task',
      '',
    ]);
  },
);

test.concurrent('atlas:callers as pulumi config set stores it (a JSON string) is read too', async () => {
  const dir = dirs.make();
  const file = dir.write('Pulumi.staging.yaml', stack(`'["ci","ops"]'`));
  const result = await runAtlas(['config', 'validate', '-f', file]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
});

test.concurrent.each([
  ['atlas:callers lists neither', '[default]', ['"ci" does not exist', '"ops" does not exist']],
  ['without atlas:callers (only "default")', undefined, ['"ci" does not exist', '"ops" does not exist']],
  ['atlas:callers lacks one', '[ci]', ['"ops" does not exist']],
])(
  'a stack config whose rules name a caller that %s is refused, exit 1, naming each',
  async (_case, callers, missing) => {
    const dir = dirs.make();
    const file = dir.write('Pulumi.staging.yaml', stack(callers));

    const result = await runAtlas(['config', 'validate', '-f', file]);

    expect(result.code).toBe(1);
    expect(result.out).toBe('');
    expect(result.stderr).toContain('access rules name callers that atlas:callers does not list');
    const problems = result.stderr.split('\n').filter((line) => line.startsWith('  - '));
    expect(problems).toEqual(
      missing.map((text) =>
        expect.stringContaining(
          `adapter "heroku", access: caller ${text}: add it to atlas:callers, or correct the name`,
        ),
      ),
    );
  },
);

test.concurrent.each([
  ['a caller name with upper case', '[Ci]', /config\.atlas:callers\[0\].*"Ci" is not a valid caller name/],
  ['a caller listed twice', '[ci, ci, ops]', /config\.atlas:callers\[1\].*"ci" is listed twice/],
  ['an empty list', '[]', /config\.atlas:callers.*at least one caller/],
])('atlas:callers with %s is refused at its line', async (_case, callers, message) => {
  const dir = dirs.make();
  const file = dir.write('Pulumi.staging.yaml', stack(callers));
  const result = await runAtlas(['config', 'validate', '-f', file]);
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).toContain(`${file}:2:`);
});

test.concurrent(
  'an Atlas config cannot say who its static callers are: rules naming them are a warning, exit 0',
  async () => {
    const dir = dirs.make();
    const file = dir.write(
      'atlas.yaml',
      atlasConfig(
        [{ kind: 'HTTP', name: 'heroku' }],
        httpDocument(
          'heroku',
          [
            '  baseUrl: https://api.heroku.com',
            '  access:',
            '  - callers: [ci, "sub:auth0|42"]',
            '    methods: [GET]',
          ].join('\n'),
        ),
      ),
    );

    const result = await runAtlas(['config', 'validate', '-f', file]);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      `warning: adapter "heroku": its access rules name the static caller "ci": make sure the gateway's ATLAS_ACCESS_TOKENS has ci=<token>\n`,
    );
    expect(result.out).toContain('heroku: access rules (1) for ci, sub:auth0|42');
  },
);
