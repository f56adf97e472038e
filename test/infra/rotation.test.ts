import {
  type ContainerDefinition,
  type ProgramRun,
  containerDefinitions,
  parseSecretReference,
  plainInput,
  runProgram,
  secretBehind,
} from '../helpers/pulumi-program';

const adapters = [
  {
    name: 'heroku',
    baseUrl: 'https://api.heroku.com',
    headers: [{ name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' }],
  },
  {
    name: 'github',
    baseUrl: 'https://api.github.com',
    headers: [{ name: 'Authorization', value: 'token ${{ GITHUB_TOKEN }}' }],
  },
];

function stack(values: { HEROKU_API_KEY: string; accessToken: string }) {
  return {
    config: { adapters, GITHUB_TOKEN: 'ghp-unchanged-value-2b6f8e0d', ...values },
    secretKeys: ['HEROKU_API_KEY', 'GITHUB_TOKEN', 'accessToken'],
  };
}

const FIRST = { HEROKU_API_KEY: 'heroku-key-before-rotation-1111', accessToken: 'a'.repeat(40) };
const ROTATED_KEY = { ...FIRST, HEROKU_API_KEY: 'heroku-key-after-rotation-2222' };
const ROTATED_TOKEN = { ...FIRST, accessToken: 'b'.repeat(40) };

/** `pulumi config set --secret ... && pulumi up` is a second run of the program with one value changed. */
let before: ProgramRun;
let afterKeyRotation: ProgramRun;
let unchanged: ProgramRun;
let afterTokenRotation: ProgramRun;
beforeAll(async () => {
  before = await runProgram(stack(FIRST));
  afterKeyRotation = await runProgram(stack(ROTATED_KEY));
  unchanged = await runProgram(stack(FIRST));
  afterTokenRotation = await runProgram(stack(ROTATED_TOKEN));
});

function valueFromOf(run: ProgramRun, variable: string): string {
  const [container] = containerDefinitions(run);
  const reference = container!.secrets?.find((secret) => secret.name === variable);
  if (reference === undefined) throw new Error(`the container has no secret ${variable}`);
  return reference.valueFrom;
}

/** The container definitions with one secret's reference replaced. */
function withReference(containers: ContainerDefinition[], variable: string, valueFrom: string) {
  return containers.map((container) => ({
    ...container,
    secrets: container.secrets?.map((secret) => (secret.name === variable ? { ...secret, valueFrom } : secret)),
  }));
}

function taskDefinitionInputs(run: ProgramRun) {
  return run.one('aws:ecs/taskDefinition:TaskDefinition').inputs;
}

describe.each([
  [
    'HEROKU_API_KEY',
    'pulumi config set --secret HEROKU_API_KEY',
    () => afterKeyRotation,
    ['GITHUB_TOKEN', 'ATLAS_ACCESS_TOKENS'],
  ],
  [
    'ATLAS_ACCESS_TOKENS',
    'pulumi config set --secret accessToken',
    () => afterTokenRotation,
    ['GITHUB_TOKEN', 'HEROKU_API_KEY'],
  ],
] as const)('rotating %s (%s, then pulumi up)', (variable, _command, after, others) => {
  test('stores the new value as a new secret version of the same secret', () => {
    const old = secretBehind(before, valueFromOf(before, variable));
    const rotated = secretBehind(after(), valueFromOf(after(), variable));
    expect(rotated.secret.outputs.arn).toBe(old.secret.outputs.arn);
    expect(plainInput(rotated.version.inputs.secretString)).not.toBe(plainInput(old.version.inputs.secretString));
    expect(rotated.version.outputs.versionId).not.toBe(old.version.outputs.versionId);
  });

  test("changes the task definition only in that secret's valueFrom, now pinned to the new version", () => {
    const oldReference = valueFromOf(before, variable);
    const newReference = valueFromOf(after(), variable);
    expect(newReference).not.toBe(oldReference);
    expect(parseSecretReference(newReference).arn).toBe(parseSecretReference(oldReference).arn);
    expect(parseSecretReference(newReference).versionId).toBe(
      secretBehind(after(), newReference).version.outputs.versionId,
    );
    // A changed container definition is a new task definition revision, which ECS rolls out:
    // new tasks start and read the new value.
    expect(withReference(containerDefinitions(after()), variable, oldReference)).toEqual(containerDefinitions(before));
    const { containerDefinitions: _changed, ...otherInputs } = taskDefinitionInputs(after());
    const { containerDefinitions: _original, ...originalInputs } = taskDefinitionInputs(before);
    expect(otherInputs).toEqual(originalInputs);
  });

  test("leaves the other secrets' references unchanged", () => {
    for (const other of others) expect(valueFromOf(after(), other)).toBe(valueFromOf(before, other));
  });
});

test('the service deploys the task definition, so a new revision rolls the service', () => {
  const service = before.one('aws:ecs/service:Service');
  expect(service.inputs.taskDefinition).toBe(before.one('aws:ecs/taskDefinition:TaskDefinition').outputs.arn);
});

test('pulumi up with unchanged config yields identical container definitions (no spurious rollout)', () => {
  expect(taskDefinitionInputs(unchanged).containerDefinitions).toBe(taskDefinitionInputs(before).containerDefinitions);
  expect(taskDefinitionInputs(unchanged)).toEqual(taskDefinitionInputs(before));
});
