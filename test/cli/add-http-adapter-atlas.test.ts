import fs from 'node:fs';
import { type Document, parseAllDocuments } from 'yaml';
import { readAdapterFile } from '../../gateway/src/config/parse-adapters';
import { CLI_FIXTURES, diffLines, makeCliTempDirs, runAtlas } from '../helpers/cli-run';

const HEROKU_ARGS = [
  '--adapter-name',
  'heroku',
  '--base-url',
  'https://api.heroku.com',
  '-H',
  'Authorization: Bearer ${{ HEROKU_API_KEY }}',
  '-H',
  'Accept: application/vnd.heroku+json; version=3',
];

/** The added lines of the heroku diff, as the issue shows them. */
const ADDED_REF = [
  '  - adapterRef:',
  '      apiVersion: moment.dev/adapters/v1alpha1',
  '      kind: HTTP',
  '      name: heroku',
];
const ADDED_DOCUMENT = [
  '---',
  'apiVersion: moment.dev/adapters/v1alpha1',
  'kind: HTTP',
  'metadata:',
  '  name: heroku',
  'spec:',
  '  baseUrl: https://api.heroku.com',
  '  headers:',
  '  - name: Authorization',
  '    value: Bearer ${{ HEROKU_API_KEY }}',
  '  - name: Accept',
  '    value: application/vnd.heroku+json; version=3',
];

function golden(name: string): string {
  return fs.readFileSync(`${CLI_FIXTURES}/${name}`, 'utf8');
}

const dirs = makeCliTempDirs();
afterAll(() => dirs.removeAll());

test.concurrent('the heroku command turns the Atlas config into the golden file, exiting 0', async () => {
  const dir = dirs.make();
  const file = dir.copy('atlas-config.before.yaml', 'atlas.yaml');
  const result = await runAtlas(['config', 'add-http-adapter', '-f', file, ...HEROKU_ARGS]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(fs.readFileSync(file, 'utf8')).toBe(golden('atlas-config.after.yaml'));
});

test.concurrent(
  'the golden diff only adds lines: the adapterRef after the last adapterRef, the HTTP document at the end',
  async () => {
    const before = golden('atlas-config.before.yaml');
    const after = golden('atlas-config.after.yaml');
    const { added, removed } = diffLines(before, after);
    expect(removed).toEqual([]);
    expect(added).toEqual([...ADDED_REF, ...ADDED_DOCUMENT]);

    const lines = after.split('\n');
    const ref = lines.indexOf('  - adapterRef:', lines.indexOf('      name: github-2'));
    expect(lines.slice(ref - 1, ref + ADDED_REF.length + 1)).toEqual([
      '      name: github-2',
      ...ADDED_REF,
      '  exposedPorts: {}',
    ]);
    expect(after.endsWith(`${ADDED_DOCUMENT.join('\n')}\n`)).toBe(true);
  },
);

test.concurrent('comments and key order survive, and the result reads back with the new adapter last', async () => {
  const dir = dirs.make();
  const before = golden('atlas-config.before.yaml');
  const after = golden('atlas-config.after.yaml');
  const comments = before.split('\n').filter((line) => line.includes('#'));
  expect(comments.length).toBeGreaterThanOrEqual(4);
  for (const line of comments) expect(after).toContain(line);

  const [atlas] = parseAllDocuments(after) as Document.Parsed[];
  const spec = (atlas!.toJS() as { spec: Record<string, unknown> }).spec;
  expect(Object.keys(spec)).toEqual(['apiAdapters', 'exposedPorts', 'gatewayRegistration', 'logLevel']);
  expect(spec.exposedPorts).toEqual({});

  const file = dir.write('after.yaml', after);
  const parsed = readAdapterFile(file);
  expect(parsed.format).toBe('atlas');
  expect(parsed.adapters.map((adapter) => adapter.name)).toEqual(['github', 'github-2', 'heroku']);
  expect(parsed.adapters[2]).toMatchObject({
    baseUrl: 'https://api.heroku.com',
    headers: [
      { name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' },
      { name: 'Accept', value: 'application/vnd.heroku+json; version=3' },
    ],
  });
});

test.concurrent(
  'on a config whose first adapterRef is kind AWS, the same lines are added, byte for byte, and the AWS adapter is kept',
  async () => {
    const dir = dirs.make();
    const file = dir.copy('atlas-config-aws-first.before.yaml', 'atlas.yaml');
    const result = await runAtlas(['config', 'add-http-adapter', '-f', file, ...HEROKU_ARGS]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const after = fs.readFileSync(file, 'utf8');
    expect(after).toBe(golden('atlas-config-aws-first.after.yaml'));

    const { added, removed } = diffLines(golden('atlas-config-aws-first.before.yaml'), after);
    expect(removed).toEqual([]);
    expect(added).toEqual([...ADDED_REF, ...ADDED_DOCUMENT]);
    const parsed = readAdapterFile(file);
    expect(parsed.adapters.map((adapter) => adapter.name)).toEqual(['github', 'heroku']);
    expect(parsed.skipped).toEqual([{ name: 'aws', kind: 'AWS' }]);
  },
);

test.concurrent('the name of an adapter of another kind is taken: the file is left unchanged, exit 1', async () => {
  const dir = dirs.make();
  const file = dir.copy('atlas-config-aws-first.before.yaml', 'atlas.yaml');
  const before = fs.readFileSync(file, 'utf8');
  const result = await runAtlas([
    'config',
    'add-http-adapter',
    '-f',
    file,
    ...HEROKU_ARGS.slice(2),
    '--adapter-name',
    'aws',
  ]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('already has an adapter named "aws"');
  expect(fs.readFileSync(file, 'utf8')).toBe(before);
});

test.concurrent('a config with 4-space indentation and indented sequences gets new lines in that style', async () => {
  const dir = dirs.make();
  const file = dir.copy('atlas-config-4-space.before.yaml', 'atlas.yaml');
  const before = fs.readFileSync(file, 'utf8');
  const result = await runAtlas(['config', 'add-http-adapter', '-f', file, ...HEROKU_ARGS]);
  expect(result.code).toBe(0);
  const after = fs.readFileSync(file, 'utf8');
  expect(after).toBe(golden('atlas-config-4-space.after.yaml'));

  const { added, removed } = diffLines(before, after);
  expect(removed).toEqual([]);
  expect(added).toEqual([
    '        - adapterRef:',
    '              apiVersion: moment.dev/adapters/v1alpha1',
    '              kind: HTTP',
    '              name: heroku',
    '---',
    'apiVersion: moment.dev/adapters/v1alpha1',
    'kind: HTTP',
    'metadata:',
    '    name: heroku',
    'spec:',
    '    baseUrl: https://api.heroku.com',
    '    headers:',
    '        - name: Authorization',
    '          value: Bearer ${{ HEROKU_API_KEY }}',
    '        - name: Accept',
    '          value: application/vnd.heroku+json; version=3',
  ]);
});

test.concurrent(
  'a config that does not end in a newline gets the same lines, and its last line keeps its content',
  async () => {
    const dir = dirs.make();
    const before = golden('atlas-config.before.yaml').replace(/\n$/, '');
    expect(before.endsWith('\n')).toBe(false);
    const file = dir.write('atlas.yaml', before);
    const result = await runAtlas(['config', 'add-http-adapter', '-f', file, ...HEROKU_ARGS]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const after = fs.readFileSync(file, 'utf8');
    expect(after).toBe(golden('atlas-config.after.yaml'));
    expect(diffLines(before, after).removed).toEqual([]);
  },
);

test.concurrent('stdout names the adapter and says which environment variable to set for an Atlas config', async () => {
  const dir = dirs.make();
  const file = dir.copy('atlas-config.before.yaml', 'atlas.yaml');
  const result = await runAtlas(['config', 'add-http-adapter', '-f', file, ...HEROKU_ARGS]);
  expect(result.code).toBe(0);
  expect(result.out).toContain('"heroku"');
  expect(result.out).toContain('https://api.heroku.com');
  expect(result.out).toMatch(/environment variable HEROKU_API_KEY/);
  expect(result.out).not.toContain('pulumi config set');
});
