import fs from 'node:fs';
import path from 'node:path';
import { readAdapterFile } from '../../gateway/src/config/parse-adapters';
import { REPO_ROOT } from '../helpers/gateway';
import { CLI_FIXTURES, diffLines, makeCliTempDirs, runAtlas } from '../helpers/cli-run';

const GITHUB_ARGS = [
  '--adapter-name',
  'github',
  '--base-url',
  'https://api.github.com',
  '-H',
  'Authorization: token ${{ GITHUB_TOKEN }}',
  '-H',
  'X-GitHub-Api-Version: 2022-11-28',
];

function golden(name: string): string {
  return fs.readFileSync(path.join(CLI_FIXTURES, name), 'utf8');
}

const dirs = makeCliTempDirs();
afterAll(() => dirs.removeAll());

test.concurrent(
  'a copy of Pulumi.dev.yaml gets an entry appended to atlas:adapters in its indented-sequence style',
  async () => {
    const dir = dirs.make();
    const file = dir.copy(path.join(REPO_ROOT, 'Pulumi.dev.yaml'));
    const before = fs.readFileSync(file, 'utf8');
    const result = await runAtlas(['config', 'add-http-adapter', '-f', file, ...GITHUB_ARGS]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    const after = fs.readFileSync(file, 'utf8');
    const { added, removed } = diffLines(before, after);
    expect(removed).toEqual([]);
    expect(added).toEqual([
      '    - name: github',
      '      baseUrl: https://api.github.com',
      '      headers:',
      '        - name: Authorization',
      '          value: token ${{ GITHUB_TOKEN }}',
      '        - name: X-GitHub-Api-Version',
      '          value: 2022-11-28',
    ]);
    const adapters = readAdapterFile(file).adapters;
    expect(adapters.map((adapter) => adapter.name)).toEqual(['heroku', 'github']);
    expect(adapters[1]!.headers).toEqual([
      { name: 'Authorization', value: 'token ${{ GITHUB_TOKEN }}' },
      { name: 'X-GitHub-Api-Version', value: '2022-11-28' },
    ]);
  },
);

test.concurrent.each([
  ['with comments and keys after atlas:adapters', 'stack-config'],
  ['without atlas:adapters (the key is added under config:)', 'stack-config-without-adapters'],
])('a stack config %s becomes its golden file, with only added lines', async (_what, name) => {
  const dir = dirs.make();
  const file = dir.copy(`${name}.before.yaml`, 'Pulumi.staging.yaml');
  const result = await runAtlas(['config', 'add-http-adapter', '-f', file, ...GITHUB_ARGS]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);

  const after = fs.readFileSync(file, 'utf8');
  expect(after).toBe(golden(`${name}.after.yaml`));
  expect(diffLines(golden(`${name}.before.yaml`), after).removed).toEqual([]);
  expect(readAdapterFile(file).adapters.at(-1)).toMatchObject({ name: 'github', baseUrl: 'https://api.github.com' });
});

test.concurrent(
  'the key added to a stack config without atlas:adapters sits under config:, beside its other keys',
  async () => {
    const after = golden('stack-config-without-adapters.after.yaml');
    const lines = after.split('\n');
    const key = lines.indexOf('  atlas:adapters:');
    expect(lines[key - 1]).toBe('  aws:region: eu-west-1 # closest to the team');
    expect(lines[key + 1]).toBe('  - name: github');
  },
);

test.concurrent(
  'after success on a stack config stdout names the adapter and prints pulumi config set --secret for each variable',
  async () => {
    const dir = dirs.make();
    const file = dir.copy('stack-config.before.yaml', 'Pulumi.staging.yaml');
    const result = await runAtlas([
      'config',
      'add-http-adapter',
      '-f',
      file,
      '--adapter-name',
      'datadog',
      '--base-url',
      'https://api.datadoghq.com/api',
      '-H',
      'DD-API-KEY: ${{ DD_API_KEY }}',
      '-H',
      'DD-APPLICATION-KEY: ${{DD_APP_KEY}}',
      '-H',
      'X-Also-Api-Key: ${{ DD_API_KEY }}',
    ]);
    expect(result.code).toBe(0);
    expect(result.out).toContain('"datadog"');
    const instructions = result.out.split('\n').filter((line) => line.includes('pulumi config set'));
    expect(instructions.map((line) => line.trim())).toEqual([
      'pulumi config set --secret DD_API_KEY <value>',
      'pulumi config set --secret DD_APP_KEY <value>',
    ]);
  },
);

test.concurrent('a stack config adapter without variables prints no pulumi config set instruction', async () => {
  const dir = dirs.make();
  const file = dir.copy('stack-config.before.yaml', 'Pulumi.staging.yaml');
  const result = await runAtlas([
    'config',
    'add-http-adapter',
    '-f',
    file,
    '--adapter-name',
    'public',
    '--base-url',
    'https://example.com',
  ]);
  expect(result.code).toBe(0);
  expect(result.out).toContain('"public"');
  expect(result.out).not.toContain('pulumi config set');
});

const TRICKY_HEADERS: [string, string, string][] = [
  ['double and single quotes', `X-Quoted: say "hi" and 'bye'`, `say "hi" and 'bye'`],
  ['colons', 'X-Colons: a: b:c ::', 'a: b:c ::'],
  ['a # that starts a comment when unquoted', 'X-Hash: value # not a comment', 'value # not a comment'],
  ['a leading #', 'X-Lead-Hash: #channel', '#channel'],
  ['a placeholder among text', 'Authorization: Bearer ${{ API_TOKEN }} #1: "x"', 'Bearer ${{ API_TOKEN }} #1: "x"'],
  ['YAML indicators at the start', 'X-Indicators: - [a, {b: c}] & *ref !tag |', '- [a, {b: c}] & *ref !tag |'],
  ['a value YAML would read as another type', 'X-Looks-Typed: true', 'true'],
];

test.concurrent.each(['stack-config.before.yaml', 'atlas-config.before.yaml'])(
  'header values with quotes, colons, # and ${{ VAR }} read back exactly from %s',
  async (fixture) => {
    const dir = dirs.make();
    const file = dir.copy(fixture, 'config.yaml');
    const result = await runAtlas([
      'config',
      'add-http-adapter',
      '-f',
      file,
      '--adapter-name',
      'tricky',
      '--base-url',
      'https://tricky.example.com',
      ...TRICKY_HEADERS.flatMap(([, header]) => ['-H', header]),
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const adapter = readAdapterFile(file).adapters.find((candidate) => candidate.name === 'tricky');
    expect(adapter?.headers).toEqual(
      TRICKY_HEADERS.map(([, header, value]) => ({ name: header.slice(0, header.indexOf(':')), value })),
    );
  },
);
