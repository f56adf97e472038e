import {
  type ProgramRun,
  type StackSettings,
  isSecretInput,
  onlyContainer,
  plainEnvironment,
  plainInput,
  runProgram,
  secretBehind,
} from '../helpers/pulumi-program';

const HEROKU_API_KEY = 'heroku-oauth-7f3a9c51e2d8b604aa19';
const GITHUB_TOKEN = 'ghp-value-4c1d9e7a2b6f8e0d3c5a';
const UNREFERENCED = 'never-referenced-93b1f0c2d7e4';
const PROVIDED_TOKEN = 'caller-token-5d2e8f1a9c7b3e6d4f0a2c8e1b9d7f3a';

// HEROKU_API_KEY is referenced twice, by two adapters: it still makes one secret.
const adapters = [
  {
    name: 'heroku',
    baseUrl: 'https://api.heroku.com',
    headers: [{ name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' }],
  },
  {
    name: 'github',
    baseUrl: 'https://api.github.com',
    headers: [
      { name: 'Authorization', value: 'token ${{ GITHUB_TOKEN }}' },
      { name: 'X-Heroku-Key', value: '${{HEROKU_API_KEY}}' },
    ],
  },
];
const REFERENCED = ['GITHUB_TOKEN', 'HEROKU_API_KEY'];

const base: StackSettings = {
  config: { adapters, HEROKU_API_KEY, GITHUB_TOKEN, UNREFERENCED_SECRET: UNREFERENCED },
  secretKeys: ['HEROKU_API_KEY', 'GITHUB_TOKEN', 'UNREFERENCED_SECRET'],
};
const withToken: StackSettings = {
  config: { ...base.config, accessToken: PROVIDED_TOKEN },
  secretKeys: [...base.secretKeys!, 'accessToken'],
};

// Runs are shared between describe blocks: each costs about a second.
const runs = new Map<StackSettings, Promise<ProgramRun>>();
function runOnce(settings: StackSettings): Promise<ProgramRun> {
  if (!runs.has(settings)) runs.set(settings, runProgram(settings));
  return runs.get(settings)!;
}

/** The value the stack should store for the callers' tokens in each run. */
function tokenOf(run: ProgramRun): string {
  const generated = run.ofType('random:index/randomPassword:RandomPassword');
  return generated.length === 0 ? PROVIDED_TOKEN : String(generated[0]!.outputs.result);
}

function expectedValues(run: ProgramRun): Record<string, string> {
  return { HEROKU_API_KEY, GITHUB_TOKEN, ATLAS_ACCESS_TOKENS: tokenOf(run) };
}

describe.each([
  ['a generated access token', base],
  ['atlas:accessToken provided', withToken],
])('secrets with %s', (_label, settings) => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runOnce(settings);
  });

  test('one Secrets Manager secret and one version per referenced ${{ VAR }}, plus one for ATLAS_ACCESS_TOKENS', () => {
    const secrets = run.ofType('aws:secretsmanager/secret:Secret');
    const versions = run.ofType('aws:secretsmanager/secretVersion:SecretVersion');
    expect(secrets).toHaveLength(REFERENCED.length + 1);
    expect(versions).toHaveLength(REFERENCED.length + 1);
    // Each value has its own secret: the versions point at distinct secrets.
    const secretIds = new Set(secrets.map((secret) => secret.id));
    expect(new Set(versions.map((version) => version.inputs.secretId))).toEqual(secretIds);
    const stored = versions.map((version) => plainInput(version.inputs.secretString)).sort();
    expect(stored).toEqual(Object.values(expectedValues(run)).sort());
  });

  test('secret values reach the engine only as SecretVersion secretStrings, marked secret', () => {
    const values = [...Object.values(expectedValues(run)), UNREFERENCED];
    for (const version of run.ofType('aws:secretsmanager/secretVersion:SecretVersion')) {
      expect(isSecretInput(version.inputs.secretString)).toBe(true);
    }
    const leaking = run.resources
      .filter((resource) => resource.type !== 'aws:secretsmanager/secretVersion:SecretVersion')
      .filter((resource) => values.some((value) => JSON.stringify(resource.inputs).includes(value)))
      .map((resource) => `${resource.type} ${resource.name}`);
    expect(leaking).toEqual([]);
    // Only secret outputs (accessToken, accessTokens) may hold a token.
    const plainOutputs = Object.entries(run.outputs).filter(([name]) => !run.secretOutputs.has(name));
    expect(plainOutputs.map(([name]) => name)).not.toContain('accessTokens');
    const outputs = JSON.stringify(Object.fromEntries(plainOutputs));
    const lookups = JSON.stringify(run.calls);
    for (const value of values) {
      expect(outputs).not.toContain(value);
      expect(lookups).not.toContain(value);
    }
  });

  test('a secret config key no adapter references gets no secret of its own', () => {
    const stored = run
      .ofType('aws:secretsmanager/secretVersion:SecretVersion')
      .map((version) => plainInput(version.inputs.secretString));
    expect(stored).not.toContain(UNREFERENCED);
    expect(Object.keys(run.outputs.secretArns as object)).not.toContain('UNREFERENCED_SECRET');
  });

  test("the task definition's environment holds no secret value, and secret names only as ${{ }} placeholders", () => {
    const environment = plainEnvironment(onlyContainer(run));
    const values = Object.values(expectedValues(run));
    const names = [...REFERENCED, 'ATLAS_ACCESS_TOKENS'];
    for (const [name, value] of Object.entries(environment)) {
      expect(names).not.toContain(name);
      for (const secret of values) expect(value).not.toContain(secret);
      const withoutPlaceholders = name === 'ATLAS_ADAPTERS' ? value.replace(/\$\{\{\s*\w+\s*\}\}/g, '') : value;
      for (const secretName of names) expect(withoutPlaceholders).not.toContain(secretName);
    }
    expect(environment.ATLAS_ADAPTERS).toContain('${{ HEROKU_API_KEY }}');
    expect(environment.ATLAS_ADAPTERS).toContain('${{ GITHUB_TOKEN }}');
  });

  test('the container secrets map each VAR and ATLAS_ACCESS_TOKENS to <secret arn>:::<version id> of its value', () => {
    const secrets = onlyContainer(run).secrets ?? [];
    expect(secrets.map((secret) => secret.name).sort()).toEqual([...REFERENCED, 'ATLAS_ACCESS_TOKENS'].sort());
    const values = expectedValues(run);
    for (const { name, valueFrom } of secrets) {
      const { secret, version, value } = secretBehind(run, valueFrom);
      expect(valueFrom).toBe(`${String(secret.outputs.arn)}:::${String(version.outputs.versionId)}`);
      expect(value).toBe(values[name]);
    }
  });

  test('the accessToken output is a secret holding the token stored for ATLAS_ACCESS_TOKENS', () => {
    expect(run.secretOutputs.has('accessToken')).toBe(true);
    expect(run.outputs.accessToken).toBe(tokenOf(run));
    const reference = onlyContainer(run).secrets!.find((secret) => secret.name === 'ATLAS_ACCESS_TOKENS')!;
    expect(secretBehind(run, reference.valueFrom).value).toBe(run.outputs.accessToken);
  });

  test('the secretArns output maps each variable to the ARN of the secret holding its value', () => {
    const secretArns = run.outputs.secretArns as Record<string, string>;
    expect(run.secretOutputs.has('secretArns')).toBe(false);
    for (const variable of REFERENCED) expect(Object.keys(secretArns)).toContain(variable);
    const references = new Map(onlyContainer(run).secrets!.map((secret) => [secret.name, secret.valueFrom]));
    for (const [variable, arn] of Object.entries(secretArns)) {
      const valueFrom = references.get(variable);
      expect({ variable, referenced: valueFrom !== undefined }).toEqual({ variable, referenced: true });
      expect(secretBehind(run, valueFrom!).secret.outputs.arn).toBe(arn);
    }
  });
});

describe('the access token', () => {
  test('without atlas:accessToken, one is generated with random.RandomPassword of at least 32 characters', async () => {
    const run = await runOnce(base);
    const password = run.one('random:index/randomPassword:RandomPassword');
    expect(Number(password.inputs.length)).toBeGreaterThanOrEqual(32);
    expect(run.outputs.accessToken).toBe(password.outputs.result);
  });

  test('a provided atlas:accessToken secret is used as is, and nothing is generated', async () => {
    const run = await runOnce(withToken);
    expect(run.ofType('random:index/randomPassword:RandomPassword')).toHaveLength(0);
    expect(run.outputs.accessToken).toBe(PROVIDED_TOKEN);
    const stored = run
      .ofType('aws:secretsmanager/secretVersion:SecretVersion')
      .map((version) => plainInput(version.inputs.secretString));
    expect(stored).toContain(PROVIDED_TOKEN);
  });
});
