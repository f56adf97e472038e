import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { adaptersSchema, findPlaceholders } from '../../gateway/src/config';
import { type ProgramRun, onlyContainer, plainEnvironment, runProgram } from '../helpers/pulumi-program';

const REPO = path.resolve(__dirname, '../..');

interface ConfigDeclaration {
  type?: string;
  items?: { type: string };
  description?: string;
  secret?: boolean;
  default?: unknown;
  value?: unknown;
}
interface Project {
  name: string;
  runtime: string | { name: string; options?: Record<string, unknown> };
  main?: string;
  config: Record<string, ConfigDeclaration>;
}

const project = parse(readFileSync(path.join(REPO, 'Pulumi.yaml'), 'utf8')) as Project;
const devStack = parse(readFileSync(path.join(REPO, 'Pulumi.dev.yaml'), 'utf8')) as {
  config: Record<string, unknown>;
};

/** The keys the issue defines, and the defaults it gives some of them. */
const ISSUE_KEYS = [
  'adapters',
  'callers',
  'accessToken',
  'oidcIssuer',
  'oidcAudience',
  'oidcJwksUrl',
  'desiredCount',
  'minCount',
  'maxCount',
  'cpu',
  'memory',
  'certificateArn',
  'allowedCidrs',
  'vpcId',
  'publicSubnetIds',
  'privateSubnetIds',
  'logRetentionDays',
  'alarmEmail',
  'rateLimitAlarmBelow',
];
const ISSUE_DEFAULTS: [string, unknown][] = [
  ['callers', ['default']],
  ['desiredCount', 2],
  ['minCount', 2],
  ['maxCount', 10],
  ['cpu', 256],
  ['memory', 512],
  ['allowedCidrs', ['0.0.0.0/0']],
  ['logRetentionDays', 30],
  ['alarmEmail', ''],
  ['rateLimitAlarmBelow', 500],
];
/** The one key the issue makes required. */
const REQUIRED_KEYS = ['adapters'];

/**
 * The config `pulumi up` hands the program: the stack file's values, then
 * for every key Pulumi.yaml declares that the stack leaves out, its default
 * (strings and numbers as text, lists as JSON), as the CLI merges them.
 */
function configAsTheCliPassesIt(stack: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...stack };
  for (const [key, declaration] of Object.entries(project.config)) {
    const qualified = `${project.name}:${key}`;
    if (qualified in merged || declaration.default === undefined) continue;
    merged[qualified] = typeof declaration.default === 'object' ? declaration.default : String(declaration.default);
  }
  return merged;
}

describe('Pulumi.yaml', () => {
  test('names the project atlas, on the nodejs runtime, with infra/index.ts as the program', () => {
    expect(project.name).toBe('atlas');
    expect(typeof project.runtime === 'string' ? project.runtime : project.runtime.name).toBe('nodejs');
    expect(project.main).toBe('infra/index.ts');
    expect(existsSync(path.join(REPO, project.main!))).toBe(true);
  });

  test.each(ISSUE_KEYS)('declares atlas:%s with a description', (key) => {
    expect(project.config).toHaveProperty([key]);
    expect(project.config[key]!.description?.trim()).toBeTruthy();
  });

  test.each(ISSUE_DEFAULTS)('atlas:%s defaults to %j', (key, value) => {
    expect(project.config[key]?.default).toEqual(value);
  });

  // `pulumi up` fails with "Stack 'dev' is missing configuration value '<key>'" for
  // a project key that has neither a default nor a value in the stack file.
  test('pulumi up does not stop with "missing configuration value": every key the issue makes optional has a default', () => {
    const demanded = Object.entries(project.config)
      .filter(([, declaration]) => declaration.default === undefined && declaration.value === undefined)
      .map(([key]) => key);
    expect(demanded.sort()).toEqual(REQUIRED_KEYS);
  });

  // The CLI validates Pulumi.yaml before running anything: these are its rules for `config:`.
  test.each(Object.keys(project.config))('the declaration of %s is one the Pulumi CLI accepts', (key) => {
    const declaration = project.config[key]!;
    const allowed = ['type', 'items', 'description', 'secret', 'default', 'value'];
    expect(Object.keys(declaration).filter((attribute) => !allowed.includes(attribute))).toEqual([]);
    if (declaration.type === undefined) return;
    expect(['string', 'integer', 'boolean', 'array']).toContain(declaration.type);
    if (declaration.type === 'array') expect(declaration.items?.type).toBeDefined();
    if (declaration.default === undefined) return;
    const fits = (type: string, value: unknown): boolean =>
      type === 'string'
        ? typeof value === 'string'
        : type === 'integer'
          ? Number.isInteger(value)
          : type === 'boolean'
            ? typeof value === 'boolean'
            : Array.isArray(value) && value.every((item) => fits(declaration.items!.type, item));
    expect(fits(declaration.type, declaration.default)).toBe(true);
  });
});

describe('Pulumi.dev.yaml', () => {
  test('sets aws:region', () => {
    expect(devStack.config['aws:region']).toEqual(expect.stringMatching(/^[a-z]{2}(-[a-z]+)+-\d$/));
  });

  test('holds the heroku adapter the gateway schema accepts', () => {
    expect(devStack.config['atlas:adapters']).toEqual([
      {
        name: 'heroku',
        baseUrl: 'https://api.heroku.com',
        headers: [
          { name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' },
          { name: 'Accept', value: 'application/vnd.heroku+json; version=3' },
        ],
      },
    ]);
    expect(adaptersSchema.safeParse(devStack.config['atlas:adapters']).success).toBe(true);
  });
});

describe('pulumi up on the dev stack', () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram({
      config: { ...configAsTheCliPassesIt(devStack.config), HEROKU_API_KEY: 'heroku-key-for-the-dev-stack' },
      secretKeys: ['HEROKU_API_KEY'],
    });
  });

  test("with Pulumi.yaml's defaults and HEROKU_API_KEY set as a secret, the program declares the whole stack", () => {
    const adapters = devStack.config['atlas:adapters'];
    expect(JSON.parse(plainEnvironment(onlyContainer(run)).ATLAS_ADAPTERS!)).toEqual(adaptersSchema.parse(adapters));
    expect(run.one('aws:ecs/service:Service').inputs.desiredCount).toBe(2);
    expect(run.one('aws:cloudwatch/logGroup:LogGroup').inputs.retentionInDays).toBe(30);
    expect(run.outputs.url).toEqual(expect.stringMatching(/^http:\/\//));
    expect(run.secretOutputs.has('accessToken')).toBe(true);
  });

  test('every atlas:* key the program reads (besides the adapters’ own secrets) is declared in Pulumi.yaml', () => {
    const adapterSecrets = adaptersSchema
      .parse(devStack.config['atlas:adapters'])
      .flatMap((adapter) => adapter.headers.flatMap((header) => findPlaceholders(header.value)));
    const read = [...run.configKeysRead]
      .filter((key) => key.startsWith('atlas:'))
      .map((key) => key.slice('atlas:'.length))
      .filter((key) => !adapterSecrets.includes(key));
    expect(read.length).toBeGreaterThanOrEqual(ISSUE_KEYS.length);
    expect(read.filter((key) => !(key in project.config))).toEqual([]);
  });
});
