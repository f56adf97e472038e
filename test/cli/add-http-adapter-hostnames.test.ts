import fs from 'node:fs';
import { readAdapterFile } from '../../gateway/src/config/parse-adapters';
import { diffLines, makeCliTempDirs, runAtlas } from '../helpers/cli-run';

const dirs = makeCliTempDirs();
afterAll(() => dirs.removeAll());

const heroku = (...hostnames: string[]) => [
  '--adapter-name',
  'heroku',
  '--base-url',
  'https://api.heroku.com',
  '-H',
  'Authorization: Bearer ${{ HEROKU_API_KEY }}',
  ...hostnames.flatMap((hostname) => ['--hostname', hostname]),
];

test.concurrent(
  '--hostname (repeated) adds a hostnames list to the Atlas config document, lower-cased, and nothing else changes',
  async () => {
    const dir = dirs.make();
    const file = dir.copy('atlas-config.before.yaml', 'atlas.yaml');
    const before = fs.readFileSync(file, 'utf8');

    const result = await runAtlas([
      'config',
      'add-http-adapter',
      '-f',
      file,
      ...heroku('Heroku.Atlas.Example.com', 'heroku.internal.example'),
    ]);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { added, removed } = diffLines(before, fs.readFileSync(file, 'utf8'));
    expect(removed).toEqual([]);
    expect(added.slice(-3)).toEqual(['  hostnames:', '  - heroku.atlas.example.com', '  - heroku.internal.example']);
    const heroku_ = readAdapterFile(file).adapters.find((adapter) => adapter.name === 'heroku');
    expect(heroku_?.hostnames).toEqual(['heroku.atlas.example.com', 'heroku.internal.example']);
    expect(result.out).toContain('or at https://heroku.atlas.example.com/ once DNS points heroku.atlas.example.com at');
  },
);

test.concurrent('--hostname adds a hostnames list to a stack config entry, at its indentation', async () => {
  const dir = dirs.make();
  const file = dir.copy('stack-config.before.yaml', 'Pulumi.staging.yaml');
  const before = fs.readFileSync(file, 'utf8');

  const result = await runAtlas([
    'config',
    'add-http-adapter',
    '-f',
    file,
    '--adapter-name',
    'github',
    '--base-url',
    'https://api.github.com',
    '--hostname',
    'github.atlas.example.com',
  ]);

  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const { added, removed } = diffLines(before, fs.readFileSync(file, 'utf8'));
  expect(removed).toEqual([]);
  expect(added).toEqual([
    '    - name: github',
    '      baseUrl: https://api.github.com',
    '      headers: []',
    '      hostnames:',
    '        - github.atlas.example.com',
  ]);
  expect(readAdapterFile(file).adapters.map(({ name, hostnames }) => ({ name, hostnames }))).toEqual([
    { name: 'heroku', hostnames: undefined },
    { name: 'github', hostnames: ['github.atlas.example.com'] },
  ]);
});

test.concurrent.each([
  [
    'a host name another adapter of the file already serves (in another case)',
    'HEROKU.atlas.example.com',
    /already serves host name "heroku\.atlas\.example\.com" with adapter "heroku"[\s\S]*host names are unique across adapters: choose another --hostname/,
  ],
  [
    'a URL instead of a host name',
    'https://github.atlas.example.com',
    /--hostname: "https:\/\/github\.atlas\.example\.com" is not a host name: use a DNS name/,
  ],
  [
    'a host name with a port',
    'github.atlas.example.com:443',
    /--hostname: "github\.atlas\.example\.com:443" is not a host name/,
  ],
])('refuses %s, naming --hostname, and leaves the file byte-identical', async (_what, hostname, message) => {
  const dir = dirs.make();
  const file = dir.write(
    'Pulumi.staging.yaml',
    [
      'config:',
      '  atlas:adapters:',
      '    - name: heroku',
      '      baseUrl: https://api.heroku.com',
      '      hostnames:',
      '        - heroku.atlas.example.com',
      '',
    ].join('\n'),
  );
  const before = fs.readFileSync(file);

  const result = await runAtlas([
    'config',
    'add-http-adapter',
    '-f',
    file,
    '--adapter-name',
    'github',
    '--base-url',
    'https://api.github.com',
    '--hostname',
    hostname,
  ]);

  expect(result.code).toBe(1);
  expect(result.out).toBe('');
  expect(result.stderr).toMatch(message);
  expect(fs.readFileSync(file).equals(before)).toBe(true);
  expect(dir.entries()).toEqual(['Pulumi.staging.yaml']);
});

test.concurrent('validate says which adapters are also served at the root of their host names', async () => {
  const dir = dirs.make();
  const file = dir.write(
    'Pulumi.staging.yaml',
    [
      'config:',
      '  atlas:adapters:',
      '    - name: heroku',
      '      baseUrl: https://api.heroku.com',
      '      hostnames: [heroku.atlas.example.com, heroku.internal.example]',
      '    - name: github',
      '      baseUrl: https://api.github.com',
      '',
    ].join('\n'),
  );

  const result = await runAtlas(['config', 'validate', '-f', file]);

  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.out.split('\n')).toEqual([
    `${file}: valid Pulumi stack config, 2 adapter(s): heroku, github`,
    'heroku: also served at the root of heroku.atlas.example.com, heroku.internal.example',
    '',
  ]);
});
