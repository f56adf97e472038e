import { readSettings } from '../../gateway/src/settings';
import {
  type ProgramRun,
  type StackSettings,
  containerDefinitions,
  isSecretInput,
  onlyContainer,
  parseSecretReference,
  plainEnvironment,
  processEnvironment,
  runFailingProgram,
  runProgram,
  secretBehind,
} from '../helpers/pulumi-program';

const HEROKU_API_KEY = 'heroku-key-for-caller-tests-0c4e';
const DEFAULT_TOKEN = 'default-caller-token-7e1f3a9c5b2d8e4f6a0c';
const CI_TOKEN = 'ci-caller-token-2b8d4f6a0c1e3a5b7d9f1c';
const OPS_TOKEN = 'ops-caller-token-9a7c5e3b1d0f2a4c6e8b0d';
const adapters = [
  {
    name: 'heroku',
    baseUrl: 'https://api.heroku.com',
    headers: [{ name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' }],
  },
];

/** A stack with these callers and tokens; `tokens` keys are config keys, all set with --secret unless `plain`. */
function stack(
  callers: unknown,
  tokens: Record<string, string> = {},
  options: { plain?: readonly string[] } = {},
): StackSettings {
  return {
    config: { adapters, HEROKU_API_KEY, ...(callers !== undefined && { callers }), ...tokens },
    secretKeys: ['HEROKU_API_KEY', ...Object.keys(tokens).filter((key) => !options.plain?.includes(key))],
  };
}

const runs = new Map<StackSettings, Promise<ProgramRun>>();
function runOnce(settings: StackSettings): Promise<ProgramRun> {
  if (!runs.has(settings)) runs.set(settings, runProgram(settings));
  return runs.get(settings)!;
}

const DEFAULTS = stack(undefined);
const SEVERAL = stack(['default', 'ci', 'ops-team']);
const EXPLICIT = stack(['ci', 'default'], { accessToken: DEFAULT_TOKEN, 'accessToken-ci': CI_TOKEN });
const SOME_EXPLICIT = stack(['default', 'ci'], { 'accessToken-ci': CI_TOKEN });
const NO_DEFAULT = stack(['ci', 'ops'], { 'accessToken-ops': OPS_TOKEN });
// Base64 padding: a bare "<token>=" would read as a caller named after the token.
const WITH_EQUALS = stack(['default', 'ci'], { accessToken: `${DEFAULT_TOKEN}==`, 'accessToken-ci': `${CI_TOKEN}=` });

function storedAccessTokens(run: ProgramRun): string {
  const reference = onlyContainer(run).secrets!.find((secret) => secret.name === 'ATLAS_ACCESS_TOKENS')!;
  return secretBehind(run, reference.valueFrom).value;
}

/** Caller → token, as the gateway reads the environment ECS gives the task. */
function callersTheGatewayReads(run: ProgramRun): Record<string, string> {
  const { accessTokens } = readSettings(processEnvironment(run)).auth;
  const callers = Object.fromEntries(accessTokens.map(({ caller, token }) => [caller, token]));
  expect(Object.keys(callers)).toHaveLength(accessTokens.length);
  return callers;
}

function generated(run: ProgramRun): Record<string, string> {
  return Object.fromEntries(
    run
      .ofType('random:index/randomPassword:RandomPassword')
      .map((password) => [password.name, String(password.outputs.result)]),
  );
}

describe('without atlas:callers (the default, [default])', () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runOnce(DEFAULTS);
  });

  test("one token is generated, by the resource existing stacks already have ('access-token', 48 characters)", () => {
    const password = run.one('random:index/randomPassword:RandomPassword');
    expect(password.name).toBe('access-token');
    expect(password.inputs).toEqual({ length: 48, special: false });
  });

  test('ATLAS_ACCESS_TOKENS holds the bare token, as before callers had names: upgrading rolls nothing', () => {
    const token = String(run.one('random:index/randomPassword:RandomPassword').outputs.result);
    expect(storedAccessTokens(run)).toBe(token);
  });

  test('accessTokens is the secret map {default: token} and accessToken the same token, also secret', () => {
    const token = storedAccessTokens(run);
    expect(run.outputs.accessTokens).toEqual({ default: token });
    expect(run.outputs.accessToken).toBe(token);
    expect(run.secretOutputs.has('accessTokens')).toBe(true);
    expect(run.secretOutputs.has('accessToken')).toBe(true);
  });
});

describe.each([
  ['three generated tokens', SEVERAL, ['default', 'ci', 'ops-team']],
  ['explicit tokens for every caller', EXPLICIT, ['ci', 'default']],
  ['an explicit token for one caller of two', SOME_EXPLICIT, ['default', 'ci']],
  ['callers without default', NO_DEFAULT, ['ci', 'ops']],
  ['tokens holding "="', WITH_EQUALS, ['default', 'ci']],
] as const)('several callers: %s', (_label, settings, names) => {
  let run: ProgramRun;
  let tokens: Record<string, string>;
  beforeAll(async () => {
    run = await runOnce(settings);
    tokens = run.outputs.accessTokens as Record<string, string>;
  });

  test('accessTokens maps each caller of atlas:callers to its token, and is a secret output', () => {
    expect(Object.keys(tokens).sort()).toEqual([...names].sort());
    expect(new Set(Object.values(tokens)).size).toBe(names.length);
    for (const token of Object.values(tokens)) expect(token.length).toBeGreaterThanOrEqual(32);
    expect(run.secretOutputs.has('accessTokens')).toBe(true);
  });

  test('ATLAS_ACCESS_TOKENS is one secret from which the gateway reads each caller with its token', () => {
    expect(run.ofType('aws:secretsmanager/secret:Secret')).toHaveLength(2);
    expect(callersTheGatewayReads(run)).toEqual(tokens);
    const entries = storedAccessTokens(run).split(',');
    expect(entries).toHaveLength(names.length);
    const bare = entries.filter((entry) => !Object.keys(tokens).some((name) => entry.startsWith(`${name}=`)));
    // Only the default caller's token may stand alone, and only when it holds no "=".
    expect(bare).toEqual('default' in tokens && !tokens.default!.includes('=') ? [tokens.default] : []);
  });

  test('accessToken is the default caller’s token (secret), and absent when atlas:callers leaves default out', () => {
    if ((names as readonly string[]).includes('default')) {
      expect(run.outputs.accessToken).toBe(tokens.default);
      expect(run.secretOutputs.has('accessToken')).toBe(true);
    } else {
      expect(Object.keys(run.outputs)).not.toContain('accessToken');
    }
  });

  test('a token is generated exactly for each caller without one configured, named access-token[-<name>]', () => {
    const configured = Object.keys(settings.config)
      .filter((key) => key === 'accessToken' || key.startsWith('accessToken-'))
      .map((key) => (key === 'accessToken' ? 'default' : key.slice('accessToken-'.length)));
    const expected = names
      .filter((name) => !configured.includes(name))
      .map((name) => (name === 'default' ? 'access-token' : `access-token-${name}`));
    const passwords = generated(run);
    expect(Object.keys(passwords).sort()).toEqual(expected.sort());
    for (const [name, token] of Object.entries(tokens)) {
      const resource = name === 'default' ? 'access-token' : `access-token-${name}`;
      expect(token).toBe(
        passwords[resource] ?? settings.config[name === 'default' ? 'accessToken' : `accessToken-${name}`],
      );
    }
  });

  test('no token reaches a plain output, a lookup, the task environment or any input but a secret SecretVersion', () => {
    const values = Object.values(tokens);
    const plainOutputs = Object.entries(run.outputs).filter(([name]) => !run.secretOutputs.has(name));
    for (const value of values) {
      expect(JSON.stringify(Object.fromEntries(plainOutputs))).not.toContain(value);
      expect(JSON.stringify(run.calls)).not.toContain(value);
      expect(JSON.stringify(plainEnvironment(onlyContainer(run)))).not.toContain(value);
    }
    const holders = run.resources.filter((resource) =>
      values.some((value) => JSON.stringify(resource.inputs).includes(value)),
    );
    expect(holders.map((resource) => resource.type)).toEqual(['aws:secretsmanager/secretVersion:SecretVersion']);
    expect(isSecretInput(holders[0]!.inputs.secretString)).toBe(true);
  });
});

describe('adding or removing a caller rolls the tasks like a rotation', () => {
  const ONE = stack(['default'], { accessToken: DEFAULT_TOKEN });
  const TWO = stack(['default', 'ci'], { accessToken: DEFAULT_TOKEN });
  const REORDERED = stack(['ci', 'default'], { accessToken: DEFAULT_TOKEN });
  let one: ProgramRun;
  let two: ProgramRun;
  let oneAgain: ProgramRun;
  let reordered: ProgramRun;
  beforeAll(async () => {
    one = await runProgram(ONE);
    two = await runProgram(TWO);
    oneAgain = await runProgram({ ...ONE });
    reordered = await runProgram(REORDERED);
  });

  function accessTokensReference(run: ProgramRun): string {
    return onlyContainer(run).secrets!.find((secret) => secret.name === 'ATLAS_ACCESS_TOKENS')!.valueFrom;
  }

  test('adding a caller stores a new version of the same secret, and keeps the default caller’s token', () => {
    const before = secretBehind(one, accessTokensReference(one));
    const after = secretBehind(two, accessTokensReference(two));
    expect(after.secret.outputs.arn).toBe(before.secret.outputs.arn);
    expect(after.version.outputs.versionId).not.toBe(before.version.outputs.versionId);
    expect(callersTheGatewayReads(two).default).toBe(DEFAULT_TOKEN);
    expect(callersTheGatewayReads(two).ci).toBe(
      String(two.one('random:index/randomPassword:RandomPassword').outputs.result),
    );
    expect(two.outputs.accessToken).toBe(one.outputs.accessToken);
  });

  test('adding a caller changes the task definition only in the ATLAS_ACCESS_TOKENS reference, so the service rolls', () => {
    const oldReference = accessTokensReference(one);
    const newReference = accessTokensReference(two);
    expect(parseSecretReference(newReference).arn).toBe(parseSecretReference(oldReference).arn);
    expect(newReference).not.toBe(oldReference);
    const withOldReference = containerDefinitions(two).map((container) => ({
      ...container,
      secrets: container.secrets?.map((secret) =>
        secret.name === 'ATLAS_ACCESS_TOKENS' ? { ...secret, valueFrom: oldReference } : secret,
      ),
    }));
    expect(withOldReference).toEqual(containerDefinitions(one));
    const service = two.one('aws:ecs/service:Service');
    expect(service.inputs.taskDefinition).toBe(two.one('aws:ecs/taskDefinition:TaskDefinition').outputs.arn);
  });

  test('removing the caller again rolls back to a value without it', () => {
    expect(accessTokensReference(oneAgain)).not.toBe(accessTokensReference(two));
    expect(storedAccessTokens(oneAgain)).toBe(DEFAULT_TOKEN);
    expect(Object.keys(oneAgain.outputs.accessTokens as object)).toEqual(['default']);
  });

  test('reordering atlas:callers changes nothing: no spurious rollout', () => {
    expect(storedAccessTokens(reordered)).toBe(storedAccessTokens(two));
    expect(reordered.one('aws:ecs/taskDefinition:TaskDefinition').inputs).toEqual(
      two.one('aws:ecs/taskDefinition:TaskDefinition').inputs,
    );
  });
});

interface Case {
  readonly problem: string;
  readonly settings: StackSettings;
  readonly says: readonly string[];
}

const LONG_NAME = 'a'.repeat(64);
const cases: Case[] = [
  {
    problem: 'an empty atlas:callers',
    settings: stack([]),
    says: ['atlas:callers: must list at least one caller', "pulumi config set --path 'callers[0]' default"],
  },
  {
    problem: 'atlas:callers that is not a list',
    settings: stack('ci'),
    says: ['atlas:callers: must be a list of caller names', "pulumi config set --path 'callers[0]' default"],
  },
  {
    problem: 'a name with upper-case letters',
    settings: stack(['default', 'CI']),
    says: ['atlas:callers[1]: "CI" is not a valid caller name', "pulumi config set --path 'callers[1]' <name>"],
  },
  {
    problem: 'a name with an underscore',
    settings: stack(['ops_team']),
    says: ['atlas:callers[0]: "ops_team" is not a valid caller name'],
  },
  {
    problem: 'a name longer than 63 characters',
    settings: stack([LONG_NAME]),
    says: [`atlas:callers[0]: "${LONG_NAME}" is not a valid caller name`, 'at most 63'],
  },
  {
    problem: 'a name ending in "-", which the gateway would not read as a name',
    settings: stack(['default', 'ci-']),
    says: ['atlas:callers[1]: "ci-" is not a valid caller name'],
  },
  {
    problem: 'a name that is not a string',
    settings: stack(['default', 7]),
    says: ['atlas:callers[1]: must be a caller name'],
  },
  {
    problem: 'a name listed twice',
    settings: stack(['default', 'ci', 'ci']),
    says: ['atlas:callers[2]: "ci" is listed twice', "pulumi config rm --path 'callers[2]'"],
  },
  {
    problem: 'an access rule naming a caller atlas:callers does not list',
    settings: {
      ...stack(['default', 'ci']),
      config: {
        ...stack(['default', 'ci']).config,
        adapters: [{ ...adapters[0], access: [{ callers: ['ci', 'deploy', 'claim:groups=ops'] }] }],
      },
    },
    says: [
      'the access rules of adapter "heroku" name the caller "deploy", which atlas:callers does not list',
      "pulumi config set --path 'callers[2]' deploy",
    ],
  },
  {
    problem: 'a token for a caller atlas:callers does not list',
    settings: stack(['default', 'ci'], { 'accessToken-ops': OPS_TOKEN }),
    says: [
      'atlas:accessToken-ops is set, but atlas:callers does not list "ops"',
      "pulumi config set --path 'callers[2]' ops",
      'pulumi config rm accessToken-ops',
    ],
  },
  {
    problem: 'atlas:accessToken without the default caller',
    settings: stack(['ci'], { accessToken: DEFAULT_TOKEN }),
    says: ['atlas:accessToken is the token of the caller "default"', 'pulumi config rm accessToken'],
  },
  {
    problem: 'atlas:accessToken-default',
    settings: stack(['default'], { 'accessToken-default': DEFAULT_TOKEN }),
    says: ['atlas:accessToken-default', 'is atlas:accessToken', 'pulumi config set --secret accessToken <value>'],
  },
  {
    problem: "a caller's token in plain text",
    settings: stack(['default', 'ci'], { 'accessToken-ci': CI_TOKEN }, { plain: ['accessToken-ci'] }),
    says: ['atlas:accessToken-ci is stored in plain text', 'pulumi config set --secret accessToken-ci <value>'],
  },
  {
    problem: "a caller's token shorter than 32 characters",
    settings: stack(['default', 'ci'], { 'accessToken-ci': 'short-ci-token' }),
    says: ['atlas:accessToken-ci has 14 characters', 'at least 32'],
  },
  {
    problem: 'a token with a comma, which would split it in ATLAS_ACCESS_TOKENS',
    settings: stack(['default'], { accessToken: `${DEFAULT_TOKEN},${CI_TOKEN}` }),
    says: ['atlas:accessToken contains white space or ","', 'pulumi config set --secret accessToken <value>'],
  },
  {
    problem: 'two callers with the same token, which the gateway refuses',
    settings: stack(['default', 'ci', 'ops'], { 'accessToken-ci': CI_TOKEN, 'accessToken-ops': CI_TOKEN }),
    says: ['atlas:accessToken-ops has the same value as atlas:accessToken-ci', 'its own token'],
  },
  {
    problem: 'a structured atlas:accessTokens object',
    settings: stack(['default', 'ci'], { accessTokens: JSON.stringify({ ci: CI_TOKEN }) }),
    says: ['atlas:accessTokens is not read', 'pulumi config set --secret accessToken-<name> <value>'],
  },
];

test.each(cases)('$problem: the program stops before declaring anything and says how to fix it', async (c) => {
  const { error, resources } = await runFailingProgram(c.settings);
  expect(resources).toHaveLength(0);
  for (const text of c.says) expect(error.message).toContain(text);
  for (const secret of [DEFAULT_TOKEN, CI_TOKEN, OPS_TOKEN, HEROKU_API_KEY])
    expect(error.message).not.toContain(secret);
});
