import fs from 'node:fs';
import path from 'node:path';
import { type CliTempDir, makeCliTempDirs, runAtlas } from '../helpers/cli-run';
import { escapeRegExp } from '../helpers/config-files';

const dirs = makeCliTempDirs();
afterAll(() => dirs.removeAll());

const ATLAS = 'atlas-config.before.yaml';
const STACK = 'stack-config.before.yaml';

const UNREFERENCED_DOCUMENT = `${fs.readFileSync(path.join(__dirname, '../fixtures/cli', ATLAS), 'utf8')}---
apiVersion: moment.dev/adapters/v1alpha1
kind: HTTP
metadata:
  name: gitlab
spec:
  baseUrl: https://gitlab.com/api/v4
`;

interface Refusal {
  /** A fixture of test/fixtures/cli, or the file's text. */
  readonly file: { fixture: string } | { text: string };
  readonly args: string[];
  /** What stderr must say; `FILE` stands for the file's path. */
  readonly message: RegExp | string;
}

const args = (name: string, baseUrl = 'https://api.example.com', ...headers: string[]) => [
  '--adapter-name',
  name,
  '--base-url',
  baseUrl,
  ...headers.flatMap((header) => ['-H', header]),
];

const REFUSALS: [string, Refusal][] = [
  [
    'a name an adapterRef of an Atlas config already has',
    { file: { fixture: ATLAS }, args: args('github'), message: 'FILE already has an adapter named "github"' },
  ],
  [
    'a name only an unreferenced HTTP document of an Atlas config has',
    { file: { text: UNREFERENCED_DOCUMENT }, args: args('gitlab'), message: 'already has an adapter named "gitlab"' },
  ],
  [
    'a name a stack config already has',
    { file: { fixture: STACK }, args: args('heroku'), message: 'FILE already has an adapter named "heroku"' },
  ],
  [
    'the name Heroku (upper case)',
    { file: { fixture: ATLAS }, args: args('Heroku'), message: /--adapter-name: "Heroku" is not a valid adapter name/ },
  ],
  [
    'the name my_api (underscore)',
    { file: { fixture: STACK }, args: args('my_api'), message: /--adapter-name: "my_api" is not a valid adapter name/ },
  ],
  [
    'the base URL api.heroku.com (not absolute)',
    {
      file: { fixture: ATLAS },
      args: args('heroku', 'api.heroku.com'),
      message: /--base-url: "api\.heroku\.com" is not an absolute URL/,
    },
  ],
  [
    'the base URL ftp://x (not http or https)',
    {
      file: { fixture: STACK },
      args: args('heroku', 'ftp://x'),
      message: /--base-url: "ftp:\/\/x" must use http or https/,
    },
  ],
  [
    "-H 'NoColon'",
    {
      file: { fixture: ATLAS },
      args: args('heroku', 'https://api.heroku.com', 'NoColon'),
      message: /"NoColon" is not a header: write -H 'Name: value'/,
    },
  ],
  [
    "-H ': value' (no name)",
    {
      file: { fixture: ATLAS },
      args: args('heroku', 'https://api.heroku.com', ': value'),
      message: /": value" is not a header/,
    },
  ],
  [
    "-H 'Bad Name: v' (a space in the name)",
    {
      file: { fixture: STACK },
      args: args('heroku', 'https://api.heroku.com', 'Bad Name: v'),
      message: /"Bad Name: v" is not a header/,
    },
  ],
  [
    '-H with a header the gateway manages (Host)',
    {
      file: { fixture: STACK },
      args: args('heroku', 'https://api.heroku.com', 'Host: evil.example'),
      message: /"Host" is managed by the gateway/,
    },
  ],
  [
    'a file that is neither an Atlas config nor a stack config',
    {
      file: { text: 'name: heroku\nbaseUrl: https://api.heroku.com\n' },
      args: args('heroku'),
      message: 'FILE is neither an Atlas config nor a Pulumi stack config',
    },
  ],
  [
    'invalid YAML (a duplicate key), with its line and column',
    {
      file: {
        text: 'config:\n  atlas:adapters:\n    - name: heroku\n      baseUrl: https://api.heroku.com\n      baseUrl: https://x\n',
      },
      args: args('github'),
      message: /FILE is not valid YAML\n {2}- FILE:5:7: Map keys must be unique/,
    },
  ],
  [
    'invalid YAML (a tab as indentation), with its line and column',
    {
      file: { text: 'config:\n  atlas:adapters:\n    - name: heroku\n\tbaseUrl: https://api.heroku.com\n' },
      args: args('github'),
      message: /FILE:4:1: Tabs are not allowed as indentation/,
    },
  ],
  [
    'a stack config whose atlas:adapters is a flow list',
    {
      file: { text: 'config:\n  atlas:adapters: [{name: a, baseUrl: "https://a.example"}]\n' },
      args: args('github'),
      message: /"atlas:adapters" is not a block-style list/,
    },
  ],
];

function prepare(dir: CliTempDir, file: Refusal['file']): string {
  return 'fixture' in file ? dir.copy(file.fixture, 'config.yaml') : dir.write('config.yaml', file.text);
}

function expectMessage(stderr: string, message: RegExp | string, file: string): void {
  const pattern =
    typeof message === 'string'
      ? new RegExp(escapeRegExp(message).replaceAll('FILE', escapeRegExp(file)))
      : new RegExp(message.source.replaceAll('FILE', escapeRegExp(file)));
  expect(stderr).toMatch(pattern);
}

test.concurrent.each(REFUSALS)(
  'refuses %s: non-zero exit, a message on stderr, the file byte-identical and no temporary file left',
  async (_what, refusal) => {
    const dir = dirs.make();
    const file = prepare(dir, refusal.file);
    const before = fs.readFileSync(file);
    const inode = fs.statSync(file).ino;

    const result = await runAtlas(['config', 'add-http-adapter', '-f', file, ...refusal.args]);

    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.out).toBe('');
    expectMessage(result.stderr, refusal.message, file);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.statSync(file).ino).toBe(inode);
    expect(dir.entries()).toEqual(['config.yaml']);
  },
);

test.concurrent('refuses a missing file, naming it, and creates nothing', async () => {
  const dir = dirs.make();
  const file = path.join(dir.path, 'Pulumi.nope.yaml');
  const result = await runAtlas(['config', 'add-http-adapter', '-f', file, ...args('heroku')]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(`cannot read ${file}`);
  expect(result.stderr).toContain('ENOENT');
  expect(dir.entries()).toEqual([]);
});

test.concurrent(
  'a successful write replaces the file by rename (new inode), keeps mode 640 and leaves no temporary file',
  async () => {
    const dir = dirs.make();
    const file = dir.copy(STACK, 'Pulumi.staging.yaml');
    fs.chmodSync(file, 0o640);
    const inode = fs.statSync(file).ino;

    const result = await runAtlas(['config', 'add-http-adapter', '-f', file, ...args('github')]);

    expect(result.code).toBe(0);
    const after = fs.statSync(file);
    expect(after.ino).not.toBe(inode);
    expect(after.mode & 0o7777).toBe(0o640);
    expect(fs.readFileSync(file, 'utf8')).toContain('- name: github');
    expect(dir.entries()).toEqual(['Pulumi.staging.yaml']);
  },
);

test.concurrent('a reader holding the old file keeps reading the old content after the write', async () => {
  const dir = dirs.make();
  const file = dir.copy(ATLAS, 'atlas.yaml');
  const before = fs.readFileSync(file);
  const fd = fs.openSync(file, 'r');
  try {
    const result = await runAtlas(['config', 'add-http-adapter', '-f', file, ...args('heroku')]);
    expect(result.code).toBe(0);
    const held = Buffer.alloc(before.length + 100);
    const read = fs.readSync(fd, held, 0, held.length, 0);
    expect(held.subarray(0, read).equals(before)).toBe(true);
  } finally {
    fs.closeSync(fd);
  }
});
