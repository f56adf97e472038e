import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/gateway';
import { CLI_FIXTURES, makeCliTempDirs, runAtlas } from '../helpers/cli-run';

const dirs = makeCliTempDirs();
afterAll(() => dirs.removeAll());

test.concurrent.each([
  ['Atlas config', 'atlas-config.before.yaml', /valid Atlas config, 2 adapter\(s\): github, github-2/],
  ['stack config', 'stack-config.before.yaml', /valid Pulumi stack config, 1 adapter\(s\): heroku/],
  [
    'stack config (the repository Pulumi.dev.yaml)',
    path.join(REPO_ROOT, 'Pulumi.dev.yaml'),
    /valid Pulumi stack config.*: heroku/,
  ],
])('a valid %s exits 0 and prints its adapter names', async (_what, source, expected) => {
  const dir = dirs.make();
  const file = dir.copy(source, 'config.yaml');
  const result = await runAtlas(['config', 'validate', '-f', file]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.out).toMatch(expected);
  expect(result.out).toContain(file);
});

test.concurrent(
  'an Atlas config with an AWS adapter exits 0 and says, on stdout, which adapters it will not serve and their kinds',
  async () => {
    const dir = dirs.make();
    const file = dir.copy('atlas-config-aws-first.before.yaml', 'atlas.yaml');
    const result = await runAtlas(['config', 'validate', '-f', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.out.split('\n')).toEqual([
      `${file}: valid Atlas config, 1 adapter(s): github`,
      'aws (AWS): not served by this gateway',
      '',
    ]);
  },
);

test.concurrent('a name used by an AWS adapter and an HTTP adapter is an error, exit 1', async () => {
  const dir = dirs.make();
  const text = fs
    .readFileSync(path.join(CLI_FIXTURES, 'atlas-config-aws-first.before.yaml'), 'utf8')
    .replace('name: github', 'name: aws')
    .replace('  name: github', '  name: aws');
  const file = dir.write('atlas.yaml', text);
  const result = await runAtlas(['config', 'validate', '-f', file]);
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(
    /"aws" already names the AWS adapter of document 2: adapter names must be unique across kinds/,
  );
});

const INVALID_STACK = `config:
  atlas:adapters:
    - name: Heroku
      baseUrl: api.heroku.com
      headers:
        - name: Bad Name
          value: x
    - name: ok
      baseUrl: https://ok.example
      timeoutMs: 0
`;

test.concurrent('an invalid stack config lists every problem at file:line:col and exits 1', async () => {
  const dir = dirs.make();
  const file = dir.write('Pulumi.bad.yaml', INVALID_STACK);
  const result = await runAtlas(['config', 'validate', '-f', file]);
  expect(result.code).toBe(1);
  expect(result.out).toBe('');
  const problems = result.stderr.split('\n').filter((line) => line.startsWith('  - '));
  expect(problems).toEqual([
    expect.stringMatching(new RegExp(`^  - ${file}:3:13 .*"Heroku" is not a valid adapter name`)),
    expect.stringMatching(new RegExp(`^  - ${file}:4:16 .*"api\\.heroku\\.com" is not an absolute URL`)),
    expect.stringMatching(new RegExp(`^  - ${file}:6:17 .*headers\\[0\\]\\.name.*must be a header name`)),
    expect.stringMatching(new RegExp(`^  - ${file}:10:18 .*timeoutMs`)),
  ]);
});

const INVALID_ATLAS = `apiVersion: moment.dev/atlas/v1alpha1
kind: Atlas
metadata:
  name: atlas
spec:
  apiAdapters:
  - adapterRef:
      apiVersion: moment.dev/adapters/v1alpha1
      kind: HTTP
      name: heroku
  - adapterRef:
      apiVersion: moment.dev/adapters/v1alpha1
      kind: HTTP
      name: missing
---
apiVersion: moment.dev/adapters/v1alpha1
kind: HTTP
metadata:
  name: heroku
spec:
  baseUrl: https://user:pass@api.heroku.com
`;

test.concurrent(
  'an invalid Atlas config names the adapterRef without a document at its line and column, and exits 1',
  async () => {
    const dir = dirs.make();
    const file = dir.write('atlas.yaml', INVALID_ATLAS);
    const result = await runAtlas(['config', 'validate', '-f', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`${file}:11:5 \\(spec\\.apiAdapters\\[1\\]\\): adapterRef "missing" has no`),
    );
  },
);

test.concurrent(
  'an Atlas config whose adapter document is invalid is reported at the field in that document',
  async () => {
    const dir = dirs.make();
    const file = dir.write('atlas.yaml', INVALID_ATLAS.replace(/ {2}- adapterRef:\n(.*\n){2}.*name: missing\n/, ''));
    const result = await runAtlas(['config', 'validate', '-f', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`${file}:17:12 .*spec\\.baseUrl.*must not carry credentials`));
  },
);

test.concurrent('invalid YAML is reported with its line and column, exit 1', async () => {
  const dir = dirs.make();
  const file = dir.write('broken.yaml', 'config:\n  atlas:adapters:\n    - name: a\n      name: b\n');
  const result = await runAtlas(['config', 'validate', '-f', file]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(`${file}:4:7: Map keys must be unique`);
});

test.concurrent('a missing file is reported by name, exit 1', async () => {
  const dir = dirs.make();
  const file = path.join(dir.path, 'nope.yaml');
  const result = await runAtlas(['config', 'validate', '-f', file]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(file);
  expect(result.stderr).toContain('ENOENT');
});

test.concurrent('a field of the wrong type is reported as wrong, not as missing', async () => {
  const dir = dirs.make();
  const file = dir.write(
    'Pulumi.bad.yaml',
    'config:\n  atlas:adapters:\n    - name: ok\n      baseUrl: https://ok.example\n      timeoutMs: fast\n',
  );
  const result = await runAtlas(['config', 'validate', '-f', file]);
  expect(result.code).toBe(1);
  const problem = result.stderr.split('\n').find((line) => line.includes('timeoutMs'));
  expect(problem).toContain('must be a number of milliseconds');
  expect(problem).not.toContain('is required');
});

test.concurrent(
  '--env reports every ${{ VAR }} missing from the environment, naming adapter and header, exit 1',
  async () => {
    const dir = dirs.make();
    const file = dir.copy('atlas-config.before.yaml', 'atlas.yaml');
    const result = await runAtlas(['config', 'validate', '-f', file, '--env'], { env: { GITHUB_TOKEN: 'set' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('adapter "github-2", header Authorization');
    expect(result.stderr).toContain('GITHUB_TOKEN_2');
    expect(result.stderr).not.toMatch(/GITHUB_TOKEN\b/);
  },
);

test.concurrent('--env treats a variable set to the empty string as missing, as the gateway does', async () => {
  const dir = dirs.make();
  const file = dir.copy('stack-config.before.yaml', 'Pulumi.staging.yaml');
  const result = await runAtlas(['config', 'validate', '-f', file, '--env'], { env: { HEROKU_API_KEY: '' } });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('HEROKU_API_KEY');
});

test.concurrent('--env passes, exit 0, when every variable is set', async () => {
  const dir = dirs.make();
  const file = dir.copy('atlas-config.before.yaml', 'atlas.yaml');
  const result = await runAtlas(['config', 'validate', '-f', file, '--env'], {
    env: { GITHUB_TOKEN: 'one', GITHUB_TOKEN_2: 'two' },
  });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.out).toContain('github, github-2');
});

test.concurrent('without --env, unset variables do not fail validation', async () => {
  const dir = dirs.make();
  const file = dir.copy('atlas-config.before.yaml', 'atlas.yaml');
  const result = await runAtlas(['config', 'validate', '-f', file]);
  expect(result.code).toBe(0);
});
