import { matchPath, normalizePath, parsePathPattern } from '../../gateway/src/config/access-rules';
import { parseAdaptersJson } from '../../gateway/src/config/validate-adapters';
import { configError } from '../helpers/config-files';

/** The problems ATLAS_ADAPTERS gets for one heroku adapter with `fields` added. */
function problemsOf(fields: Record<string, unknown>): { where: string; message: string }[] {
  const json = JSON.stringify([{ name: 'heroku', baseUrl: 'https://api.heroku.com', ...fields }]);
  return [...configError(() => parseAdaptersJson(json)).problems];
}

test.each<[string, Record<string, unknown>, string, RegExp]>([
  ['access that is not a list', { access: { callers: ['ci'] } }, 'ATLAS_ADAPTERS[0].access', /must be a list of rules/],
  ['an empty access list', { access: [] }, 'ATLAS_ADAPTERS[0].access', /at least one rule, or be left out/],
  ['a rule without callers', { access: [{ methods: ['GET'] }] }, 'ATLAS_ADAPTERS[0].access[0].callers', /is required/],
  [
    'a rule with an unknown field',
    { access: [{ callers: ['ci'], path: ['/x'] }] },
    'ATLAS_ADAPTERS[0].access[0]',
    /unknown field "path": access rules have callers, methods and paths/,
  ],
  [
    'a caller name in upper case',
    { access: [{ callers: ['CI'] }] },
    'ATLAS_ADAPTERS[0].access[0].callers[0]',
    /"CI" is not a caller: use a static caller's name/,
  ],
  [
    'sub: without a subject',
    { access: [{ callers: ['sub:'] }] },
    'ATLAS_ADAPTERS[0].access[0].callers[0]',
    /names no subject: write sub:<subject>/,
  ],
  [
    'claim: without a value',
    { access: [{ callers: ['claim:groups'] }] },
    'ATLAS_ADAPTERS[0].access[0].callers[0]',
    /write claim:<name>=<value>/,
  ],
  [
    'an unknown method',
    { access: [{ callers: ['ci'], methods: ['FETCH'] }] },
    'ATLAS_ADAPTERS[0].access[0].methods[0]',
    /must be one of GET, HEAD/,
  ],
  [
    'a path without a leading slash',
    { access: [{ callers: ['ci'], paths: ['apps'] }] },
    'ATLAS_ADAPTERS[0].access[0].paths[0]',
    /must start with "\/"/,
  ],
  [
    'a * inside a segment',
    { access: [{ callers: ['ci'], paths: ['/apps/my-*'] }] },
    'ATLAS_ADAPTERS[0].access[0].paths[0]',
    /whole segments only/,
  ],
  [
    'a percent-encoding in a path',
    { access: [{ callers: ['ci'], paths: ['/apps/%61'] }] },
    'ATLAS_ADAPTERS[0].access[0].paths[0]',
    /write path characters as they are/,
  ],
  [
    'a dot segment in a path',
    { access: [{ callers: ['ci'], paths: ['/apps/../account'] }] },
    'ATLAS_ADAPTERS[0].access[0].paths[0]',
    /dot segment/,
  ],
  [
    'an empty segment in a path',
    { access: [{ callers: ['ci'], paths: ['/apps//x'] }] },
    'ATLAS_ADAPTERS[0].access[0].paths[0]',
    /empty segment/,
  ],
  [
    'a rate limit of 0 requests',
    { rateLimit: { requests: 0, perSeconds: 60 } },
    'ATLAS_ADAPTERS[0].rateLimit.requests',
    /must be at least 1/,
  ],
  [
    'a rate limit without perSeconds',
    { rateLimit: { requests: 10 } },
    'ATLAS_ADAPTERS[0].rateLimit.perSeconds',
    /is required: must be a number of seconds/,
  ],
  [
    'a fractional burst',
    { rateLimit: { requests: 10, perSeconds: 1, burst: 1.5 } },
    'ATLAS_ADAPTERS[0].rateLimit.burst',
    /whole number/,
  ],
  [
    'a rate limit with an unknown field',
    { rateLimit: { requests: 10, perMinute: 1 } },
    'ATLAS_ADAPTERS[0].rateLimit',
    /unknown field "perMinute": rateLimit has requests, perSeconds and burst/,
  ],
])('refuses %s, where it is, saying what to write', (_case, fields, where, message) => {
  const problems = problemsOf(fields);
  expect(problems).toContainEqual({ where, message: expect.stringMatching(message) as unknown });
});

test('a valid rule set and rate limit are accepted as written', () => {
  const access = [
    { callers: ['ci', 'sub:auth0|42', 'claim:groups=ops', '*'], methods: ['get'], paths: ['/', '/apps/*', '/apps/**'] },
  ];
  const [adapter] = parseAdaptersJson(
    JSON.stringify([
      { name: 'heroku', baseUrl: 'https://api.heroku.com', access, rateLimit: { requests: 5, perSeconds: 1 } },
    ]),
  );
  expect(adapter!.access).toEqual([{ ...access[0], methods: ['GET'] }]);
  expect(adapter!.rateLimit).toEqual({ requests: 5, perSeconds: 1 });
});

test.each<[string, string, boolean]>([
  ['/apps/*', '/apps/x', true],
  ['/apps/*', '/apps', false],
  ['/apps/*', '/apps/x/y', false],
  ['/apps/*', '/apps/', false],
  ['/apps/*', '/apps/x%2Fy', false],
  ['/apps/*', '/apps/x%5Cy', false],
  ['/apps/**', '/apps', true],
  ['/apps/**', '/apps/x/y/z', true],
  ['/apps/**', '/appsx', false],
  ['/**/config-vars', '/apps/x/config-vars', true],
  ['/**/config-vars', '/config-vars', true],
  ['/**/config-vars', '/apps/x/config-vars/y', false],
  ['/', '', true],
  ['/', '/', true],
  ['/', '/x', false],
  ['/account', '/Account', false],
])('pattern %s against path %s: %s', (pattern, path, expected) => {
  const parsed = parsePathPattern(pattern);
  if (typeof parsed === 'string') throw new Error(parsed);
  expect(matchPath(parsed, path)).toBe(expected);
});

test.each([
  ['/%61pps/x', '/apps/x'],
  ['/apps/%7euser', '/apps/~user'],
  ['/apps/x%2fy', '/apps/x%2Fy'],
  ['/apps/%e2%82%ac', '/apps/%E2%82%AC'],
  ['/apps/%zz', '/apps/%zz'],
  ['/apps/plain', '/apps/plain'],
])('normalizes %s to %s', (raw, normalized) => {
  expect(normalizePath(raw)).toBe(normalized);
});
