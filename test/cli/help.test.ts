import { runAtlas } from '../helpers/cli-run';

test.concurrent.each([
  [[], 'atlas config add-http-adapter'],
  [['config'], 'atlas config add-http-adapter'],
  [['config', 'add-http-adapter'], 'atlas config add-http-adapter -f'],
  [['config', 'validate'], 'atlas config validate -f'],
  [['curl'], 'atlas curl /v1/apis/http/'],
  [['apis'], 'atlas apis list'],
  [['apis', 'list'], 'atlas apis list'],
])('atlas %j --help exits 0 and shows an example (%s ...)', async (command, example) => {
  const result = await runAtlas([...command, '--help']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.out).toMatch(/^Usage: atlas/);
  expect(result.out).toMatch(/Examples?:/);
  expect(result.out).toContain(`$ ${example}`);
});

test.concurrent('atlas --help documents the exit codes', async () => {
  const result = await runAtlas(['--help']);
  for (const code of ['0', '1', '2', '7', '22']) expect(result.out).toMatch(new RegExp(`\\b${code}\\b`));
  expect(result.out).toMatch(/Exit codes/);
});

test.concurrent('atlas help curl prints the same help as atlas curl --help', async () => {
  const [viaHelp, viaFlag] = await Promise.all([runAtlas(['help', 'curl']), runAtlas(['curl', '--help'])]);
  expect(viaHelp.code).toBe(0);
  expect(viaHelp.out).toBe(viaFlag.out);
});

test.concurrent.each([
  ['an unknown command', ['deploy'], /unknown command 'deploy'/],
  ['an unknown config subcommand', ['config', 'remove'], /unknown command 'remove'/],
  ['an unknown option', ['curl', '/v1/apis', '--nope'], /unknown option '--nope'/],
  ['a missing required option', ['config', 'validate'], /required option '-f, --file <file>' not specified/],
  ['a missing argument', ['curl'], /missing required argument 'path'/],
])('%s exits 2 with the problem on stderr and nothing on stdout', async (_what, argv, message) => {
  const result = await runAtlas(argv);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.out).toBe('');
});
