import { parseAdapterFile, readAdapterFile } from '../../gateway/src/config/parse-adapters';
import { resolveAdapters } from '../../gateway/src/config/resolve-adapters';
import {
  atlasConfig,
  configError,
  escapeRegExp,
  fixture,
  httpDocument,
  lineOf,
  makeTempDir,
  type TempDir,
  HEROKU_ADAPTER,
} from '../helpers/config-files';

let dir: TempDir;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => dir.remove());

const GITHUB_SPEC = [
  'baseUrl: https://api.github.com',
  'headers:',
  '- name: Authorization',
  '  value: token ${{ GITHUB_TOKEN }}',
]
  .map((line) => `  ${line}`)
  .join('\n');

test('a multi-document Atlas config yields its adapters in adapterRef order, headers as written', () => {
  const parsed = readAdapterFile(fixture('atlas-config.yaml'));

  expect(parsed.format).toBe('atlas');
  expect(parsed.warnings).toEqual([]);
  expect(parsed.adapters).toEqual([
    {
      name: 'github',
      baseUrl: 'https://api.github.com',
      headers: [
        { name: 'Authorization', value: 'token ${{ GITHUB_TOKEN }}' },
        { name: 'Accept', value: 'application/vnd.github+json' },
        { name: 'X-GitHub-Api-Version', value: '2022-11-28' },
      ],
      timeoutMs: 30000,
      bodyIdleTimeoutMs: 60000,
    },
    HEROKU_ADAPTER,
  ]);
});

test('an Atlas config with unindented sequences, as the Atlas CLI writes them, is read from disk', () => {
  const file = dir.write('atlas.yaml', atlasConfig([{ name: 'github' }], httpDocument('github', GITHUB_SPEC)));

  const parsed = readAdapterFile(file);

  expect(parsed.format).toBe('atlas');
  expect(parsed.adapters.map(({ name, baseUrl, headers }) => ({ name, baseUrl, headers }))).toEqual([
    {
      name: 'github',
      baseUrl: 'https://api.github.com',
      headers: [{ name: 'Authorization', value: 'token ${{ GITHUB_TOKEN }}' }],
    },
  ]);
});

test.each([
  ['without spaces', 'Bearer ${{HEROKU_API_KEY}}'],
  ['with several spaces', 'Bearer ${{  HEROKU_API_KEY  }}'],
])('a placeholder %s inside the braces is accepted, kept literal, and substituted at start-up', (_case, value) => {
  const text = atlasConfig(
    [{ name: 'heroku' }],
    httpDocument(
      'heroku',
      `  baseUrl: https://api.heroku.com\n  headers:\n  - name: Authorization\n    value: ${value}`,
    ),
  );

  const parsed = parseAdapterFile(text, dir.write('atlas.yaml', text));

  expect(parsed.adapters[0]!.headers).toEqual([{ name: 'Authorization', value }]);
  const { adapters, problems } = resolveAdapters(parsed.adapters, { HEROKU_API_KEY: 'heroku-token' });
  expect(problems).toEqual([]);
  expect(adapters[0]!.headers).toEqual({ authorization: 'Bearer heroku-token' });
});

test('an HTTP document that spec.apiAdapters does not reference is not served, with a warning naming it', () => {
  const file = dir.write(
    'atlas.yaml',
    atlasConfig(
      [{ name: 'github' }],
      httpDocument('github', GITHUB_SPEC),
      httpDocument('heroku', '  baseUrl: https://api.heroku.com'),
    ),
  );

  const parsed = readAdapterFile(file);

  expect(parsed.adapters.map((adapter) => adapter.name)).toEqual(['github']);
  expect(parsed.warnings).toHaveLength(1);
  expect(parsed.warnings[0]).toContain(file);
  expect(parsed.warnings[0]).toContain('"heroku"');
  expect(parsed.warnings[0]).toMatch(/not served/);
});

const githubRef = [{ name: 'github' }];

interface BadConfig {
  readonly text: string;
  /** The line the problem must point at. */
  readonly line: number;
  readonly message: RegExp;
}

function bad(text: string, marker: string, message: RegExp, occurrence = 1): BadConfig {
  return { text, line: lineOf(text, marker, occurrence), message };
}

function githubWith(spec: string): string {
  return atlasConfig(githubRef, httpDocument('github', spec));
}

const NAMED = (name: string) =>
  atlasConfig([{ name }], httpDocument(name, '  baseUrl: https://api.github.com\n  headers: []'));

const BAD_CONFIGS: [string, BadConfig][] = [
  [
    'an adapterRef with no matching HTTP document',
    bad(
      atlasConfig([{ name: 'github' }, { name: 'heroku' }], httpDocument('github', GITHUB_SPEC)),
      '- adapterRef:',
      /"heroku".*no matching document/,
      2,
    ),
  ],
  [
    'an adapterRef of another kind',
    bad(
      atlasConfig([{ name: 'github', kind: 'GraphQL' }], httpDocument('github', GITHUB_SPEC)),
      '- adapterRef:',
      /GraphQL/,
    ),
  ],
  [
    'two HTTP documents with the same name',
    bad(
      atlasConfig(githubRef, httpDocument('github', GITHUB_SPEC), httpDocument('github', GITHUB_SPEC)),
      'name: github',
      /"github".*unique/,
      3,
    ),
  ],
  ['a missing baseUrl', bad(githubWith('  headers: []'), '  headers: []', /baseUrl|required/)],
  ['a baseUrl that is not http(s)', bad(githubWith('  baseUrl: ftp://api.github.com'), 'ftp://', /http or https/)],
  [
    'a baseUrl with a query string',
    bad(githubWith('  baseUrl: https://api.github.com/?per_page=100'), 'per_page', /query string/),
  ],
  ['an upper-case adapter name', bad(NAMED('GitHub'), 'name: GitHub', /"GitHub" is not a valid adapter name/, 2)],
  [
    'an adapter name with an underscore',
    bad(NAMED('git_hub'), 'name: git_hub', /"git_hub" is not a valid adapter name/, 2),
  ],
  [
    'an unknown field (baseURL for baseUrl)',
    bad(githubWith('  baseURL: https://api.github.com\n  headers: []'), 'baseURL', /unknown field "baseURL"/),
  ],
  [
    'a header without a value',
    bad(
      githubWith('  baseUrl: https://api.github.com\n  headers:\n  - name: X-GitHub-Api-Version'),
      'X-GitHub-Api-Version',
      /required/,
    ),
  ],
  [
    'a malformed placeholder',
    bad(
      githubWith(
        '  baseUrl: https://api.github.com\n  headers:\n  - name: Authorization\n    value: token ${{ bad-name }}',
      ),
      'bad-name',
      /malformed placeholder/,
    ),
  ],
  [
    'the reserved header Host',
    bad(
      githubWith('  baseUrl: https://api.github.com\n  headers:\n  - name: Host\n    value: api.github.com'),
      'name: Host',
      /"Host" is managed by the gateway/,
    ),
  ],
];

test.each(BAD_CONFIGS)('%s is refused with the file, the line and the problem', (_case, { text, line, message }) => {
  const file = dir.write('atlas.yaml', text);

  const error = configError(() => readAdapterFile(file));

  expect(error.problems).toContainEqual({
    where: expect.stringMatching(new RegExp(`^${escapeRegExp(file)}:${line}:\\d+`)),
    message: expect.stringMatching(message),
  });
  expect(error.message).toContain(`${file}:${line}:`);
});

test('invalid YAML is refused with the file, line and column of the mistake', () => {
  // A whole header line pasted as the value: "key: value" inside a plain scalar.
  const broken = '    value: Authorization: Bearer ${{ GITHUB_TOKEN }}';
  const text = githubWith(`  baseUrl: https://api.github.com\n  headers:\n  - name: Authorization\n${broken}`);
  const file = dir.write('atlas.yaml', text);

  const error = configError(() => readAdapterFile(file));

  expect(error.message).toMatch(/not valid YAML/);
  expect(error.problems[0]!.where).toBe(`${file}:${lineOf(text, broken)}:${broken.indexOf('Authorization:') + 1}`);
});

test('a baseUrl carrying credentials is refused without repeating the password', () => {
  const text = githubWith('  baseUrl: https://user:pass@api.github.com');
  const file = dir.write('atlas.yaml', text);

  const error = configError(() => readAdapterFile(file));

  expect(error.problems).toContainEqual({
    where: expect.stringContaining(`${file}:${lineOf(text, 'user:pass@')}:`),
    message: expect.stringMatching(/credentials/),
  });
  expect(error.message).not.toContain('pass');
  expect(JSON.stringify(error.problems)).not.toContain('pass');
});

test('a file that is neither an Atlas config nor a Pulumi stack config is refused, naming the file and both shapes', () => {
  const file = dir.write(
    'deployment.yaml',
    'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: atlas\nspec:\n  replicas: 2\n',
  );

  const error = configError(() => readAdapterFile(file));

  expect(error.problems).toHaveLength(1);
  expect(error.problems[0]!.where).toContain(file);
  expect(error.message).toMatch(/kind: Atlas/);
  expect(error.message).toMatch(/atlas:adapters/);
});

test('every problem of an Atlas config is reported at once', () => {
  const text = atlasConfig(
    [{ name: 'github' }, { name: 'heroku' }],
    httpDocument('github', '  baseUrl: ftp://api.github.com'),
    httpDocument('heroku', '  baseUrl: https://api.heroku.com\n  headers:\n  - name: Host\n    value: x'),
  );
  const file = dir.write('atlas.yaml', text);

  const error = configError(() => readAdapterFile(file));

  expect(error.problems.map((problem) => problem.where)).toEqual(
    expect.arrayContaining([
      expect.stringContaining(`${file}:${lineOf(text, 'ftp://')}:`),
      expect.stringContaining(`${file}:${lineOf(text, 'name: Host')}:`),
    ]),
  );
});
