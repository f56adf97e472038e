import * as pulumi from '@pulumi/pulumi';
import * as runtimeConfig from '@pulumi/pulumi/runtime/config';
import {
  type Adapter,
  DEFAULT_CALLER,
  adaptersSchema,
  callersSchema,
  findNamedCallers,
  findPlaceholders,
} from '../gateway/src/config';
import { MIN_ACCESS_TOKEN_LENGTH } from '../gateway/src/settings';

/** The stack's configuration, validated before any resource is declared. */
export interface StackConfig {
  readonly adapters: readonly Adapter[];
  /** Each `${{ VAR }}` the adapters reference, with its secret value. */
  readonly secrets: ReadonlyMap<string, pulumi.Output<string>>;
  /**
   * `atlas:callers`, in order, each with its configured token (`atlas:accessToken`
   * for the default caller, `atlas:accessToken-<name>` for the others), or
   * undefined to have one generated.
   */
  readonly callers: ReadonlyMap<string, pulumi.Output<string> | undefined>;
  readonly oidc: { readonly issuer: string; readonly audience: string; readonly jwksUrl: string } | undefined;
  readonly desiredCount: number;
  readonly minCount: number;
  readonly maxCount: number;
  readonly cpu: number;
  readonly memory: number;
  readonly certificateArn: string | undefined;
  readonly allowedCidrs: readonly string[];
  readonly vpcId: string | undefined;
  readonly publicSubnetIds: readonly string[] | undefined;
  readonly privateSubnetIds: readonly string[] | undefined;
  readonly logRetentionDays: number;
  /** Where the alarms are mailed (an SNS email subscription), if anywhere. */
  readonly alarmEmail: string | undefined;
  /** An adapter's upstream `RateLimit-Remaining` below this raises its alarm. */
  readonly rateLimitAlarmBelow: number;
}

const NAMESPACE = 'atlas';
const DEFAULT_RATE_LIMIT_ALARM_BELOW = 500;
/** `atlas:accessToken-<name>`: the token of the caller <name> (the default caller's is `atlas:accessToken`). */
const TOKEN_KEY_PREFIX = 'accessToken-';
// The retention periods CloudWatch Logs accepts.
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
// Fargate's CPU units and, for each, the memory sizes (MiB) it accepts.
const FARGATE_SIZES: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: [1024, 2048, 3072, 4096],
  1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
};

/**
 * Reads and checks `atlas:*`. Every problem is collected and reported at once,
 * each with the command that fixes it, and nothing is created: `pulumi up`
 * stops before its first resource.
 */
export function readStackConfig(): StackConfig {
  const config = new pulumi.Config(NAMESPACE);
  const problems: string[] = [];

  const adapters = readAdapters(config, problems);
  const secrets = readSecrets(config, adapters, problems);
  const callers = readCallers(config, adapters, problems);
  const oidc = readOidc(config, problems);

  const desiredCount = readInteger(config, 'desiredCount', 2, 1, 1000, problems);
  const minCount = readInteger(config, 'minCount', 2, 1, 1000, problems);
  const maxCount = readInteger(config, 'maxCount', 10, 1, 1000, problems);
  if (minCount > maxCount) problems.push(`atlas:minCount (${minCount}) is above atlas:maxCount (${maxCount})`);
  if (desiredCount < minCount || desiredCount > maxCount) {
    problems.push(
      `atlas:desiredCount (${desiredCount}) must lie between atlas:minCount (${minCount}) and atlas:maxCount (${maxCount})`,
    );
  }
  const cpu = readInteger(config, 'cpu', 256, 256, 4096, problems);
  const memory = readInteger(config, 'memory', 512, 512, 30720, problems);
  const sizes = FARGATE_SIZES[cpu];
  if (sizes === undefined) {
    problems.push(`atlas:cpu ${cpu} is not a Fargate size: use 256, 512, 1024, 2048 or 4096`);
  } else if (!sizes.includes(memory)) {
    problems.push(`atlas:memory ${memory} does not fit atlas:cpu ${cpu} on Fargate: use one of ${sizes.join(', ')}`);
  }
  const logRetentionDays = readInteger(config, 'logRetentionDays', 30, 1, 3653, problems);
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    problems.push(
      `atlas:logRetentionDays ${logRetentionDays} is not accepted by CloudWatch Logs: use one of ${LOG_RETENTION_DAYS.join(', ')}`,
    );
  }

  const alarmEmail = readAlarmEmail(config, problems);
  const rateLimitAlarmBelow = readRateLimitAlarmBelow(problems);

  const certificateArn = getString(config, 'certificateArn');
  if (certificateArn !== undefined && !/^arn:aws[\w-]*:acm:/.test(certificateArn)) {
    problems.push(
      `atlas:certificateArn "${certificateArn}" is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)`,
    );
  }
  const allowedCidrs = config.getObject<string[]>('allowedCidrs') ?? ['0.0.0.0/0'];
  if (!Array.isArray(allowedCidrs) || allowedCidrs.length === 0 || !allowedCidrs.every(isIpv4Cidr)) {
    problems.push('atlas:allowedCidrs must be a non-empty list of IPv4 CIDR blocks, such as ["203.0.113.0/24"]');
  }

  const vpcId = getString(config, 'vpcId');
  const publicSubnetIds = getList(config, 'publicSubnetIds');
  const privateSubnetIds = getList(config, 'privateSubnetIds');
  if (vpcId !== undefined && (publicSubnetIds === undefined || publicSubnetIds.length < 2)) {
    problems.push(
      'atlas:vpcId needs atlas:publicSubnetIds: at least two subnets in different availability zones, for the load balancer',
    );
  }
  if (vpcId === undefined && (publicSubnetIds !== undefined || privateSubnetIds !== undefined)) {
    problems.push('atlas:publicSubnetIds and atlas:privateSubnetIds need atlas:vpcId, the VPC they belong to');
  }

  if (problems.length > 0) {
    throw new pulumi.RunError(
      `The stack configuration is not valid; nothing was created.\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  return Object.freeze({
    adapters,
    secrets,
    callers,
    oidc,
    desiredCount,
    minCount,
    maxCount,
    cpu,
    memory,
    certificateArn,
    allowedCidrs,
    vpcId,
    publicSubnetIds,
    privateSubnetIds,
    logRetentionDays,
    alarmEmail,
    rateLimitAlarmBelow,
  });
}

function readAdapters(config: pulumi.Config, problems: string[]): Adapter[] {
  const raw = config.getObject<unknown>('adapters');
  if (raw === undefined) {
    problems.push(
      'atlas:adapters is not set: add the adapters to Pulumi.<stack>.yaml under config: atlas:adapters (see Pulumi.dev.yaml)',
    );
    return [];
  }
  const result = adaptersSchema.safeParse(raw);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const path = issue.path
      .map((segment) => (typeof segment === 'number' ? `[${segment}]` : `.${String(segment)}`))
      .join('');
    problems.push(`atlas:adapters${path}: ${issue.message}`);
  }
  return [];
}

/**
 * Each `${{ VAR }}` must be the secret `atlas:VAR`: set with
 * `pulumi config set --secret`, so it is encrypted in the stack file and in
 * state, and never shown in plain text.
 */
function readSecrets(
  config: pulumi.Config,
  adapters: readonly Adapter[],
  problems: string[],
): Map<string, pulumi.Output<string>> {
  const secrets = new Map<string, pulumi.Output<string>>();
  for (const adapter of adapters) {
    for (const header of adapter.headers) {
      for (const name of findPlaceholders(header.value)) {
        if (secrets.has(name)) continue;
        const key = `${NAMESPACE}:${name}`;
        const where = `adapter "${adapter.name}" (header ${header.name}) uses \${{ ${name} }}`;
        if (pulumi.runtime.getConfig(key) === undefined) {
          problems.push(`${where}, but ${key} is not set. Run: pulumi config set --secret ${name} <value>`);
        } else if (!isSecret(key)) {
          problems.push(
            `${where}, but ${key} is stored in plain text. Run: pulumi config set --secret ${name} <value>`,
          );
        } else {
          secrets.set(name, config.requireSecret(name));
        }
      }
    }
  }
  return secrets;
}

/**
 * `atlas:callers` and their tokens. Each token is a config key of its own,
 * not a leaf of one structured object: Pulumi tells the program only which
 * top-level keys hold a secret, so a token set without `--secret` inside an
 * object of secrets could not be told apart and refused.
 */
function readCallers(
  config: pulumi.Config,
  adapters: readonly Adapter[],
  problems: string[],
): Map<string, pulumi.Output<string> | undefined> {
  const callers = new Map<string, pulumi.Output<string> | undefined>();
  const names = readCallerNames(problems);
  if (names === undefined) return callers;
  for (const name of names) callers.set(name, readCallerToken(config, name, problems));
  checkTokensDiffer(names, problems);

  // A token for a caller the list leaves out, or a rule for a caller without a token, would silently do nothing.
  const settable = `pulumi config set --path 'callers[${names.length}]'`;
  for (const { adapter, caller } of findNamedCallers(adapters)) {
    if (!callers.has(caller)) {
      problems.push(
        `atlas:adapters: the access rules of adapter "${adapter}" name the caller "${caller}", which atlas:callers does not list: add it (${settable} ${caller}) or correct the name`,
      );
    }
  }
  const all = pulumi.runtime.allConfig();
  if (!callers.has(DEFAULT_CALLER) && (all[`${NAMESPACE}:accessToken`] ?? '') !== '') {
    problems.push(
      `${NAMESPACE}:accessToken is the token of the caller "${DEFAULT_CALLER}", which atlas:callers does not list: add it (${settable} ${DEFAULT_CALLER}) or run: pulumi config rm accessToken`,
    );
  }
  for (const key of Object.keys(all).sort()) {
    if (!key.startsWith(`${NAMESPACE}:${TOKEN_KEY_PREFIX}`)) continue;
    const name = key.slice(`${NAMESPACE}:${TOKEN_KEY_PREFIX}`.length);
    const plainKey = key.slice(`${NAMESPACE}:`.length);
    if (name === DEFAULT_CALLER) {
      problems.push(
        `${key}: the token of the caller "${DEFAULT_CALLER}" is atlas:accessToken. Run: pulumi config rm ${plainKey}, then pulumi config set --secret accessToken <value>`,
      );
    } else if (!callers.has(name)) {
      problems.push(
        `${key} is set, but atlas:callers does not list "${name}": add it (${settable} ${name}) or run: pulumi config rm ${plainKey}`,
      );
    }
  }
  if (`${NAMESPACE}:accessTokens` in all) {
    problems.push(
      `${NAMESPACE}:accessTokens is not read: set each caller's token as a secret of its own, pulumi config set --secret ${TOKEN_KEY_PREFIX}<name> <value>, then run: pulumi config rm accessTokens`,
    );
  }
  return callers;
}

/** The gateway refuses to start when two callers share a token: so does `pulumi up`, naming the keys only. */
function checkTokensDiffer(names: readonly string[], problems: string[]): void {
  const keyOfToken = new Map<string, string>();
  for (const name of names) {
    const key = `${NAMESPACE}:${name === DEFAULT_CALLER ? 'accessToken' : `${TOKEN_KEY_PREFIX}${name}`}`;
    const raw = pulumi.runtime.getConfig(key);
    if (raw === undefined || raw === '') continue;
    const other = keyOfToken.get(raw);
    if (other === undefined) {
      keyOfToken.set(raw, key);
    } else {
      problems.push(
        `${key} has the same value as ${other}: give each caller its own token (openssl rand -hex 32), or remove it to have one generated`,
      );
    }
  }
}

/** The names in `atlas:callers` (the gateway's schema), or undefined when the list is not valid. */
function readCallerNames(problems: string[]): string[] | undefined {
  const raw = pulumi.runtime.getConfig(`${NAMESPACE}:callers`);
  if (raw === undefined) return [DEFAULT_CALLER];
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    list = raw;
  }
  const result = callersSchema.safeParse(list, { reportInput: true });
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const index = issue.path.find((segment) => typeof segment === 'number');
    const key = index === undefined ? 'callers' : `callers[${index}]`;
    const fix =
      index === undefined
        ? `pulumi config set --path 'callers[0]' ${DEFAULT_CALLER}`
        : issue.code === 'custom'
          ? `pulumi config rm --path '${key}'`
          : `pulumi config set --path '${key}' <name>`;
    problems.push(`${NAMESPACE}:${key}: ${issue.message}. Run: ${fix}`);
  }
  return undefined;
}

/** The caller's configured token, checked; undefined to have one generated. */
function readCallerToken(config: pulumi.Config, name: string, problems: string[]): pulumi.Output<string> | undefined {
  const plainKey = name === DEFAULT_CALLER ? 'accessToken' : `${TOKEN_KEY_PREFIX}${name}`;
  const key = `${NAMESPACE}:${plainKey}`;
  const raw = pulumi.runtime.getConfig(key);
  // Pulumi.yaml declares accessToken with the default "": empty means not set.
  if (raw === undefined || raw === '') return undefined;
  const fix = `pulumi config set --secret ${plainKey} <value>`;
  if (!isSecret(key)) {
    problems.push(`${key} is stored in plain text. Run: ${fix} (or remove it to have one generated)`);
    return undefined;
  }
  if (raw.length < MIN_ACCESS_TOKEN_LENGTH) {
    problems.push(
      `${key} has ${raw.length} characters; use at least ${MIN_ACCESS_TOKEN_LENGTH} (openssl rand -hex 32), or remove it to have one generated`,
    );
    return undefined;
  }
  // The gateway splits ATLAS_ACCESS_TOKENS at commas and trims each entry.
  if (/[\s,]/.test(raw)) {
    problems.push(
      `${key} contains white space or ",", which ATLAS_ACCESS_TOKENS (name=token,...) cannot carry: use letters and digits (openssl rand -hex 32). Run: ${fix}`,
    );
    return undefined;
  }
  return config.requireSecret(plainKey);
}

function readOidc(config: pulumi.Config, problems: string[]): StackConfig['oidc'] {
  const issuer = getString(config, 'oidcIssuer');
  const audience = getString(config, 'oidcAudience');
  const jwksUrl = getString(config, 'oidcJwksUrl');
  if (issuer === undefined && audience === undefined && jwksUrl === undefined) return undefined;
  if (issuer === undefined || audience === undefined || jwksUrl === undefined) {
    problems.push('atlas:oidcIssuer, atlas:oidcAudience and atlas:oidcJwksUrl go together: set all three');
    return undefined;
  }
  if (!jwksUrl.startsWith('https://')) problems.push(`atlas:oidcJwksUrl "${jwksUrl}" must be an https URL`);
  return { issuer, audience, jwksUrl };
}

/**
 * SNS mails a confirmation link to the address and sends nothing until it is
 * followed; an address it cannot mail would only fail silently, so a value
 * that is not one stops `pulumi up` here.
 */
function readAlarmEmail(config: pulumi.Config, problems: string[]): string | undefined {
  const email = getString(config, 'alarmEmail');
  if (email !== undefined && !/^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>".]+$/.test(email)) {
    problems.push(
      `atlas:alarmEmail "${email}" is not an email address. Run: pulumi config set alarmEmail ops@example.com (or pulumi config rm alarmEmail to send none)`,
    );
    return undefined;
  }
  return email;
}

function readRateLimitAlarmBelow(problems: string[]): number {
  const raw = pulumi.runtime.getConfig(`${NAMESPACE}:rateLimitAlarmBelow`);
  if (raw === undefined) return DEFAULT_RATE_LIMIT_ALARM_BELOW;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(value) || value < 1) {
    problems.push(
      `atlas:rateLimitAlarmBelow "${raw}" is not a positive whole number. Run: pulumi config set rateLimitAlarmBelow ${DEFAULT_RATE_LIMIT_ALARM_BELOW}`,
    );
    return DEFAULT_RATE_LIMIT_ALARM_BELOW;
  }
  return value;
}

/** Optional keys default to "" (Pulumi.yaml): empty means not set. */
function getString(config: pulumi.Config, key: string): string | undefined {
  const value = config.get(key)?.trim();
  return value === '' ? undefined : value;
}

function getList(config: pulumi.Config, key: string): string[] | undefined {
  const value = config.getObject<string[]>(key);
  return value === undefined || value.length === 0 ? undefined : value;
}

function readInteger(
  config: pulumi.Config,
  key: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = pulumi.runtime.getConfig(`${NAMESPACE}:${key}`);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`atlas:${key} "${raw}" is not a whole number from ${min} to ${max}`);
    return fallback;
  }
  return value;
}

/**
 * Whether a key was set with `--secret`. The engine passes the secret keys
 * to the program; the SDK reads them but does not declare the function.
 */
function isSecret(key: string): boolean {
  return (runtimeConfig as unknown as { isConfigSecret: (key: string) => boolean }).isConfigSecret(key);
}

function isIpv4Cidr(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  return match !== null && match.slice(1, 5).every((octet) => Number(octet) <= 255) && Number(match[5]) <= 32;
}

function range(from: number, to: number, step: number): number[] {
  return Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);
}
