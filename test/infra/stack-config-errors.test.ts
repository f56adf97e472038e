import * as pulumi from '@pulumi/pulumi';
import { type StackSettings, runFailingProgram, runProgram } from '../helpers/pulumi-program';

const HEROKU_API_KEY = 'heroku-key-value-6a1f0e9d2c';
const LONG_TOKEN = 'plain-text-token-8d3b5f7a1c9e2d4b6f8a0c2e';
const SHORT_TOKEN = 'short-token-4e7b';
const URL_PASSWORD = 'hunter2-in-url';

function heroku(overrides: Record<string, unknown> = {}) {
  return {
    name: 'heroku',
    baseUrl: 'https://api.heroku.com',
    headers: [{ name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' }],
    ...overrides,
  };
}

/** A valid stack; each case below breaks it in one way (or several). */
const valid: StackSettings = { config: { adapters: [heroku()], HEROKU_API_KEY }, secretKeys: ['HEROKU_API_KEY'] };
function broken(config: Record<string, unknown>, secretKeys: readonly string[] = valid.secretKeys!): StackSettings {
  const merged = Object.fromEntries(
    Object.entries({ ...valid.config, ...config }).filter(([, value]) => value !== undefined),
  );
  return { config: merged, secretKeys };
}

interface Case {
  readonly problem: string;
  readonly settings: StackSettings;
  /** Each must appear in the message: what is wrong and how to fix it. */
  readonly says: readonly string[];
}

const cases: Case[] = [
  {
    problem: 'no atlas:adapters',
    settings: broken({ adapters: undefined, HEROKU_API_KEY: undefined }, []),
    says: ['atlas:adapters is not set', 'Pulumi.<stack>.yaml'],
  },
  {
    problem: 'a referenced secret that is not set',
    settings: broken({ HEROKU_API_KEY: undefined }, []),
    says: ['pulumi config set --secret HEROKU_API_KEY <value>', '"heroku"', 'not set'],
  },
  {
    problem: 'a referenced secret set in plain text',
    settings: broken({}, []),
    says: ['pulumi config set --secret HEROKU_API_KEY <value>', '"heroku"', 'plain text'],
  },
  {
    problem: 'a malformed placeholder ${{ bad-name }}',
    settings: broken({ adapters: [heroku({ headers: [{ name: 'Authorization', value: 'Bearer ${{ bad-name }}' }] })] }),
    says: ['atlas:adapters[0].headers[0].value', 'malformed placeholder', '${{ VAR_NAME }}'],
  },
  {
    problem: 'a reserved variable ${{ ATLAS_ACCESS_TOKENS }}',
    settings: broken({
      adapters: [heroku({ headers: [{ name: 'Authorization', value: 'Bearer ${{ ATLAS_ACCESS_TOKENS }}' }] })],
    }),
    says: ['atlas:adapters[0].headers[0].value', '${{ ATLAS_ACCESS_TOKENS }}', 'use another name'],
  },
  {
    problem: 'two adapters with the same name',
    settings: broken({ adapters: [heroku(), heroku({ baseUrl: 'https://api.heroku.com/v2' })] }),
    says: ['atlas:adapters[1].name', 'duplicate adapter name "heroku"', 'must be unique'],
  },
  {
    problem: 'an ftp:// baseUrl',
    settings: broken({ adapters: [heroku({ baseUrl: 'ftp://api.heroku.com' })] }),
    says: ['atlas:adapters[0].baseUrl', 'must use http or https'],
  },
  {
    problem: 'a baseUrl carrying credentials',
    settings: broken({ adapters: [heroku({ baseUrl: `https://deploy:${URL_PASSWORD}@api.heroku.com` })] }),
    says: ['atlas:adapters[0].baseUrl', 'must not carry credentials', 'put them in a header'],
  },
  {
    problem: 'atlas:accessToken in plain text',
    settings: broken({ accessToken: LONG_TOKEN }),
    says: ['atlas:accessToken', 'plain text', 'pulumi config set --secret accessToken'],
  },
  {
    problem: 'atlas:accessToken shorter than 32 characters',
    settings: broken({ accessToken: SHORT_TOKEN }, [...valid.secretKeys!, 'accessToken']),
    says: ['atlas:accessToken', 'at least 32'],
  },
  {
    problem: 'atlas:minCount above atlas:maxCount',
    settings: broken({ minCount: 5, maxCount: 3, desiredCount: 3 }),
    says: ['atlas:minCount (5) is above atlas:maxCount (3)'],
  },
  {
    problem: 'atlas:desiredCount outside [minCount, maxCount]',
    settings: broken({ desiredCount: 12 }),
    says: ['atlas:desiredCount (12)', 'between atlas:minCount (2) and atlas:maxCount (10)'],
  },
  {
    problem: 'a cpu/memory pair Fargate does not offer (256/4096)',
    settings: broken({ cpu: 256, memory: 4096 }),
    says: ['atlas:memory 4096', 'atlas:cpu 256', '512, 1024, 2048'],
  },
  {
    problem: 'atlas:logRetentionDays 31',
    settings: broken({ logRetentionDays: 31 }),
    says: ['atlas:logRetentionDays 31', ' 30,'],
  },
  {
    problem: 'a certificateArn that is not an ACM certificate',
    settings: broken({ certificateArn: 'arn:aws:iam::123456789012:server-certificate/atlas' }),
    says: ['atlas:certificateArn', 'arn:aws:acm:'],
  },
  {
    problem: 'allowedCidrs with something that is not a CIDR block',
    settings: broken({ allowedCidrs: ['203.0.113.0/24', 'office'] }),
    says: ['atlas:allowedCidrs', 'IPv4 CIDR'],
  },
  {
    problem: 'atlas:vpcId without atlas:publicSubnetIds',
    settings: broken({ vpcId: 'vpc-0123456789abcdef0' }),
    says: ['atlas:vpcId needs atlas:publicSubnetIds'],
  },
  {
    problem: 'some of the OIDC settings',
    settings: broken({ oidcIssuer: 'https://issuer.example.com/' }),
    says: ['atlas:oidcIssuer, atlas:oidcAudience and atlas:oidcJwksUrl', 'set all three'],
  },
  {
    problem: 'an atlas:alarmEmail that is not an email address',
    settings: broken({ alarmEmail: 'ops-at-example.com' }),
    says: ['atlas:alarmEmail "ops-at-example.com" is not an email address', 'pulumi config set alarmEmail'],
  },
  {
    problem: 'atlas:alarmEmail with two addresses',
    settings: broken({ alarmEmail: 'ops@example.com, dev@example.com' }),
    says: ['atlas:alarmEmail "ops@example.com, dev@example.com"', 'pulumi config set alarmEmail'],
  },
  ...['0', '-5', '2.5', 'lots'].map((value) => ({
    problem: `atlas:rateLimitAlarmBelow ${value}`,
    settings: broken({ rateLimitAlarmBelow: value }),
    says: [
      `atlas:rateLimitAlarmBelow "${value}"`,
      'positive whole number',
      'pulumi config set rateLimitAlarmBelow 500',
    ],
  })),
  {
    problem: 'several problems at once',
    settings: broken({ HEROKU_API_KEY: undefined, cpu: 300, logRetentionDays: 31, allowedCidrs: ['anywhere'] }, []),
    says: [
      'pulumi config set --secret HEROKU_API_KEY <value>',
      'atlas:cpu 300',
      'atlas:logRetentionDays 31',
      'atlas:allowedCidrs',
    ],
  },
];

/** Values that are secret wherever they appear in a case's config. */
const SECRET_VALUES = [HEROKU_API_KEY, LONG_TOKEN, SHORT_TOKEN, URL_PASSWORD];

test('the stack every case starts from is valid', async () => {
  const run = await runProgram(valid);
  expect(run.resources.length).toBeGreaterThan(0);
});

test('the program throws: runProgram rejects with a pulumi.RunError (shown without a stack trace)', async () => {
  const rejection = runProgram(cases[1]!.settings);
  await expect(rejection).rejects.toThrow('pulumi config set --secret HEROKU_API_KEY <value>');
  const error = await rejection.catch((thrown: unknown) => thrown);
  expect(pulumi.RunError.isInstance(error)).toBe(true);
});

test.each(cases)('$problem: the program stops before declaring anything and says how to fix it', async (c) => {
  const { error, resources } = await runFailingProgram(c.settings);
  expect(resources).toHaveLength(0);
  for (const text of c.says) expect(error.message).toContain(text);
  for (const secret of SECRET_VALUES) expect(error.message).not.toContain(secret);
});
