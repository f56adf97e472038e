import * as pulumi from '@pulumi/pulumi';
import * as runtimeConfig from '@pulumi/pulumi/runtime/config';
import { type Adapter, adaptersSchema, findPlaceholders } from '../gateway/src/config';

/** The stack's configuration, validated before any resource is declared. */
export interface StackConfig {
  readonly adapters: readonly Adapter[];
  /** Each `${{ VAR }}` the adapters reference, with its secret value. */
  readonly secrets: ReadonlyMap<string, pulumi.Output<string>>;
  /** The callers' token: `atlas:accessToken`, or generated when absent. */
  readonly accessToken: pulumi.Output<string> | undefined;
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
}

const NAMESPACE = 'atlas';
const MIN_ACCESS_TOKEN_LENGTH = 32;
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
  const accessToken = readAccessToken(config, problems);
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
    accessToken,
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

function readAccessToken(config: pulumi.Config, problems: string[]): pulumi.Output<string> | undefined {
  const key = `${NAMESPACE}:accessToken`;
  const raw = pulumi.runtime.getConfig(key);
  if (raw === undefined || raw === '') return undefined;
  if (!isSecret(key)) {
    problems.push(
      `${key} is stored in plain text. Run: pulumi config set --secret accessToken <value> (or remove it to have one generated)`,
    );
    return undefined;
  }
  if (raw.length < MIN_ACCESS_TOKEN_LENGTH) {
    problems.push(
      `${key} has ${raw.length} characters; use at least ${MIN_ACCESS_TOKEN_LENGTH} (openssl rand -hex 32), or remove it to have one generated`,
    );
    return undefined;
  }
  return config.requireSecret('accessToken');
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
