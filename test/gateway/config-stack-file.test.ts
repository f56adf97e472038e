import path from 'node:path';
import { readAdapterFile } from '../../gateway/src/config/parse-adapters';
import { parseAdaptersJson } from '../../gateway/src/config/validate-adapters';
import { REPO_ROOT } from '../helpers/gateway';
import {
  configError,
  escapeRegExp,
  fixture,
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

/** A stack file whose `atlas:adapters` list is `adapters` (YAML, one `- ` item per adapter, indented by four). */
function stackFile(adapters: string): string {
  return `config:\n  aws:region: us-east-1\n  atlas:adapters:\n${adapters.replace(/\n?$/, '\n')}`;
}

const HEROKU = '    - name: heroku\n      baseUrl: https://api.heroku.com';

test("the dev stack's Pulumi.dev.yaml yields exactly the heroku adapter with its two headers", () => {
  const parsed = readAdapterFile(path.join(REPO_ROOT, 'Pulumi.dev.yaml'));

  expect(parsed.format).toBe('pulumi-stack');
  expect(parsed.adapters).toEqual([HEROKU_ADAPTER]);
});

test('a stack file with other providers’ keys and encrypted secrets yields only its adapters', () => {
  const parsed = readAdapterFile(fixture('pulumi-stack-secure.yaml'));

  expect(parsed.format).toBe('pulumi-stack');
  expect(parsed.adapters).toEqual([
    HEROKU_ADAPTER,
    {
      name: 'datadog',
      baseUrl: 'https://api.datadoghq.com/api',
      headers: [{ name: 'DD-API-KEY', value: '${{ DD_API_KEY }}' }],
      allowedMethods: ['GET', 'POST'],
      timeoutMs: 5000,
      bodyIdleTimeoutMs: 60000,
    },
  ]);
});

test('a stack file without atlas:adapters is refused, naming the key to add', () => {
  const file = dir.write(
    'Pulumi.prod.yaml',
    'config:\n  aws:region: us-east-1\n  atlas:HEROKU_API_KEY:\n    secure: v1:abc\n',
  );

  const error = configError(() => readAdapterFile(file));

  expect(error.message).toContain(file);
  expect(error.problems).toHaveLength(1);
  expect(error.problems[0]!.message).toContain('atlas:adapters');
});

test('duplicate adapter names are refused, naming both entries', () => {
  const text = stackFile(`${HEROKU}\n    - name: heroku\n      baseUrl: https://api.heroku.com/v2`);
  const file = dir.write('Pulumi.dev.yaml', text);

  const error = configError(() => readAdapterFile(file));

  expect(error.problems).toHaveLength(1);
  const [problem] = error.problems;
  expect(problem!.where).toMatch(new RegExp(`^${escapeRegExp(file)}:${lineOf(text, 'name: heroku', 2)}:`));
  expect(problem!.where).toContain('[1]');
  expect(problem!.message).toContain('"heroku"');
  expect(problem!.message).toMatch(/index 0/);
});

test('allowedMethods in lower case are accepted and normalised to upper case', () => {
  const file = dir.write('Pulumi.dev.yaml', stackFile(`${HEROKU}\n      allowedMethods: [get, Head, post, delete]`));

  const [adapter] = readAdapterFile(file).adapters;

  expect(adapter!.allowedMethods).toEqual(['GET', 'HEAD', 'POST', 'DELETE']);
});

test.each(['CONNECT', 'TRACE', 'FETCH'])('allowedMethods with %s is refused, listing the valid methods', (method) => {
  const text = stackFile(`${HEROKU}\n      allowedMethods:\n        - GET\n        - ${method}`);
  const file = dir.write('Pulumi.dev.yaml', text);

  const error = configError(() => readAdapterFile(file));

  expect(error.problems).toEqual([
    {
      where: expect.stringMatching(new RegExp(`^${escapeRegExp(file)}:${lineOf(text, `- ${method}`)}:`)),
      message: expect.stringMatching(/GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS/),
    },
  ]);
});

test('timeoutMs defaults to 30000 and keeps a valid value', () => {
  const file = dir.write(
    'Pulumi.dev.yaml',
    stackFile(`${HEROKU}\n    - name: slow\n      baseUrl: https://slow.example.com\n      timeoutMs: 120000`),
  );

  const adapters = readAdapterFile(file).adapters;

  expect(adapters.map(({ name, timeoutMs }) => ({ name, timeoutMs }))).toEqual([
    { name: 'heroku', timeoutMs: 30000 },
    { name: 'slow', timeoutMs: 120000 },
  ]);
});

test.each(['-1', '0', '2.5', '"30000"', '30s'])('timeoutMs %s is refused at its line', (value) => {
  const text = stackFile(`${HEROKU}\n      timeoutMs: ${value}`);
  const file = dir.write('Pulumi.dev.yaml', text);

  const error = configError(() => readAdapterFile(file));

  expect(error.problems).toHaveLength(1);
  expect(error.problems[0]!.where).toMatch(
    new RegExp(
      `^${escapeRegExp(file)}:${lineOf(text, 'timeoutMs:')}:\\d+ \\(config\\.atlas:adapters\\[0\\]\\.timeoutMs\\)`,
    ),
  );
});

test.each([
  ['not JSON at all', 'heroku'],
  ['truncated JSON', '[{"name":"heroku","baseUrl":"https://api.heroku.com"'],
  ['YAML instead of JSON', '- name: heroku\n  baseUrl: https://api.heroku.com'],
])('ATLAS_ADAPTERS that is %s is refused, naming ATLAS_ADAPTERS and showing valid JSON', (_case, text) => {
  const error = configError(() => parseAdaptersJson(text));

  expect(error.message).toMatch(/ATLAS_ADAPTERS is not valid JSON/);
  expect(error.problems).toEqual([{ where: 'ATLAS_ADAPTERS', message: expect.stringContaining('[{"name":"heroku"') }]);
});

test.each([
  ['an object', '{"name":"heroku","baseUrl":"https://api.heroku.com"}'],
  ['a string', '"heroku"'],
  ['null', 'null'],
])('ATLAS_ADAPTERS holding %s instead of an array is refused', (_case, text) => {
  const error = configError(() => parseAdaptersJson(text));

  expect(error.problems).toHaveLength(1);
  expect(error.problems[0]!.where).toBe('ATLAS_ADAPTERS');
  expect(error.problems[0]!.message).toMatch(/array/);
});

test('ATLAS_ADAPTERS problems are located by index and field', () => {
  const error = configError(() =>
    parseAdaptersJson(
      JSON.stringify([
        { name: 'heroku', baseUrl: 'https://api.heroku.com' },
        { name: 'heroku', baseUrl: 'https://api.heroku.com' },
        { name: 'github', baseUrl: 'api.github.com' },
      ]),
    ),
  );

  expect(error.problems.map((problem) => problem.where).sort()).toEqual([
    'ATLAS_ADAPTERS[1].name',
    'ATLAS_ADAPTERS[2].baseUrl',
  ]);
});
