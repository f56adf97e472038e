import { createHash } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';
import * as runtimeConfig from '@pulumi/pulumi/runtime/config';
import { specialSecretSig, specialSigKey } from '@pulumi/pulumi/runtime/rpc';
import atlas from '../../infra/index';

/** One resource the program declared, with its inputs as the engine received them. */
export interface DeclaredResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  /** The id the mocked engine gave it. */
  readonly id: string;
  /** What the program sees of it: its inputs plus the made-up cloud outputs (arn, name, dnsName, ...). */
  readonly outputs: Record<string, unknown>;
}

/** A data-source lookup (invoke) the program made, such as aws:ec2/getVpc:getVpc. */
export interface InvokeCall {
  readonly token: string;
  readonly inputs: Record<string, unknown>;
}

export interface ProgramRun {
  readonly resources: readonly DeclaredResource[];
  /** The stack outputs, resolved. */
  readonly outputs: Record<string, unknown>;
  /** Stack output names that are secrets. */
  readonly secretOutputs: ReadonlySet<string>;
  /** Lookups the program made, in order. */
  readonly calls: readonly InvokeCall[];
  /** Every config key the program read while declaring the stack (e.g. "atlas:cpu"). */
  readonly configKeysRead: ReadonlySet<string>;
  /** Resources of one type (e.g. "aws:ecs/taskDefinition:TaskDefinition"). */
  ofType(type: string): DeclaredResource[];
  /** The only resource of a type; fails when there is not exactly one. */
  one(type: string): DeclaredResource;
}

/** A run whose program threw: the error, and whatever it had declared before and after throwing. */
export interface FailedRun {
  readonly error: Error;
  readonly resources: readonly DeclaredResource[];
  readonly calls: readonly InvokeCall[];
}

export interface StackSettings {
  /** Keys without a namespace get "atlas:". Objects are stored as JSON, as the CLI does. */
  readonly config: Record<string, unknown>;
  /** Keys (same form) set with --secret. */
  readonly secretKeys?: readonly string[];
  /** The stack's name (`pulumi stack init <name>`); "test" when left out. */
  readonly stack?: string;
}

/**
 * Runs the real Pulumi program (infra/index.ts) against mocks of the engine:
 * no AWS, no CLI. Every resource's inputs are recorded as the engine would
 * receive them; cloud-assigned outputs (ARNs, DNS names, secret version ids)
 * are made up deterministically from the inputs.
 */
export async function runProgram(settings: StackSettings): Promise<ProgramRun> {
  const engine = await mockEngine(settings);
  const configKeysRead = new Set<string>();
  // Only the declaring call reads config; the outputs below resolve from resources.
  const declared = watchConfigReads(configKeysRead, () => atlas());
  const outputs: Record<string, unknown> = {};
  const secretOutputs = new Set<string>();
  for (const [name, value] of Object.entries(declared)) {
    const output = pulumi.output(value as pulumi.Input<unknown>);
    outputs[name] = await valueOf(output);
    if (await pulumi.isSecret(output)) secretOutputs.add(name);
  }
  await settle(engine.resources);

  const { resources, calls } = engine;
  const ofType = (type: string) => resources.filter((resource) => resource.type === type);
  return {
    resources,
    outputs,
    secretOutputs,
    calls,
    configKeysRead,
    ofType,
    one: (type) => {
      const found = ofType(type);
      if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
      return found[0]!;
    },
  };
}

/**
 * Runs the program expecting it to throw (as `pulumi up` would stop), and
 * reports the error with every resource it declared anyway. Rejects when the
 * program succeeds.
 */
export async function runFailingProgram(settings: StackSettings): Promise<FailedRun> {
  const engine = await mockEngine(settings);
  let error: Error | undefined;
  try {
    const declared = atlas();
    // A program may also fail while its outputs resolve.
    await Promise.all(Object.values(declared).map((value) => valueOf(pulumi.output(value as pulumi.Input<unknown>))));
  } catch (thrown) {
    error = thrown as Error;
  }
  await settle(engine.resources);
  if (error === undefined) {
    throw new Error(`the program succeeded and declared ${engine.resources.length} resources`);
  }
  return { error, resources: engine.resources, calls: engine.calls };
}

/** Resolves an output's value (mocks resolve everything; nothing stays unknown). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/** Whether a recorded input value reached the engine marked secret. */
export function isSecretInput(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>)[specialSigKey] === specialSecretSig
  );
}

/** A recorded input value with its secret marking (if any) taken off. */
export function plainInput(value: unknown): unknown {
  return isSecretInput(value) ? (value as { value: unknown }).value : value;
}

async function mockEngine(settings: StackSettings): Promise<{ resources: DeclaredResource[]; calls: InvokeCall[] }> {
  const resources: DeclaredResource[] = [];
  const calls: InvokeCall[] = [];

  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const id = `${args.name}-id`;
        const state = { ...args.inputs, ...cloudOutputs(args.type, args.name, args.inputs) };
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, id, outputs: { id, ...state } });
        return { id, state };
      },
      call: (args) => {
        calls.push({ token: args.token, inputs: args.inputs });
        return mockCall(args.token, args.inputs);
      },
    },
    'atlas',
    settings.stack ?? 'test',
    false,
  );
  const qualify = (key: string) => (key.includes(':') ? key : `atlas:${key}`);
  pulumi.runtime.setAllConfig(
    Object.fromEntries(
      Object.entries(settings.config).map(([key, value]) => [
        qualify(key),
        typeof value === 'string' ? value : JSON.stringify(value),
      ]),
    ),
    (settings.secretKeys ?? []).map(qualify),
  );
  return { resources, calls };
}

/**
 * Calls `declare` while recording the config keys read through either entry
 * point of the SDK (`new pulumi.Config().get...` and `pulumi.runtime.getConfig`).
 */
function watchConfigReads<T>(keys: Set<string>, declare: () => T): T {
  const entryPoints = [runtimeConfig, pulumi.runtime] as unknown as { getConfig: (key: string) => unknown }[];
  const originals = entryPoints.map((entry) => entry.getConfig);
  entryPoints.forEach((entry, index) => {
    entry.getConfig = (key: string) => {
      keys.add(key);
      return originals[index]!(key);
    };
  });
  try {
    return declare();
  } finally {
    entryPoints.forEach((entry, index) => {
      entry.getConfig = originals[index]!;
    });
  }
}

/** Waits until no resource has been declared for a few turns of the event loop. */
async function settle(resources: readonly unknown[]): Promise<void> {
  let quiet = 0;
  let seen = resources.length;
  while (quiet < 20) {
    await new Promise((resolve) => setImmediate(resolve));
    quiet = resources.length === seen ? quiet + 1 : 0;
    seen = resources.length;
  }
}

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 12);
}

function cloudOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const arn = `arn:aws:mock:us-east-1:123456789012:${type.split(':')[1]}/${name}`;
  switch (type) {
    case 'aws:secretsmanager/secret:Secret':
      return { arn: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf` };
    case 'aws:secretsmanager/secretVersion:SecretVersion':
      // A new value makes a new version, as Secrets Manager does.
      return { versionId: `version-${digest(inputs.secretString)}` };
    case 'aws:lb/loadBalancer:LoadBalancer':
      return { arn, arnSuffix: `app/${name}/0123456789abcdef`, dnsName: `${name}-123456.us-east-1.elb.amazonaws.com` };
    case 'aws:lb/targetGroup:TargetGroup':
      return { arn, arnSuffix: `targetgroup/${name}/fedcba9876543210` };
    case 'aws:ecs/cluster:Cluster':
    case 'aws:ecs/service:Service':
    case 'aws:iam/role:Role':
      return { arn, name: `${name}-0a1b2c` };
    case 'aws:cloudwatch/logGroup:LogGroup':
      return { arn, name: `/aws/ecs/${name}-0a1b2c` };
    case 'awsx:ecr:Repository':
      return { url: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${name}-0a1b2c` };
    case 'awsx:ecr:Image':
      return { imageUri: `${String(inputs.repositoryUrl)}@sha256:${'ab'.repeat(32)}` };
    case 'random:index/randomPassword:RandomPassword':
      // Distinct per resource, of the requested length.
      return { result: `generated-${digest(name)}`.padEnd(Number(inputs.length), 'x') };
    default:
      return { arn };
  }
}

function mockCall(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (token) {
    case 'aws:ec2/getVpc:getVpc':
      return { id: (inputs.id as string | undefined) ?? 'vpc-default', cidrBlock: '172.31.0.0/16' };
    case 'aws:ec2/getSubnets:getSubnets':
      return { ids: ['subnet-default-a', 'subnet-default-b', 'subnet-default-c'] };
    case 'aws:index/getRegion:getRegion':
      return { name: 'us-east-1', region: 'us-east-1' };
    case 'aws:iam/getPolicyDocument:getPolicyDocument':
      return { json: JSON.stringify(renderPolicyDocument(inputs)) };
    default:
      throw new Error(`unexpected call ${token}`);
  }
}

interface PolicyStatementInput {
  sid?: string;
  effect?: string;
  actions?: string[];
  notActions?: string[];
  resources?: string[];
  notResources?: string[];
  principals?: { type: string; identifiers: string[] }[];
  notPrincipals?: { type: string; identifiers: string[] }[];
  conditions?: { test: string; variable: string; values: string[] }[];
}

/**
 * The IAM JSON the provider's getPolicyDocument produces: Effect defaults to
 * Allow and a one-element list becomes a plain string.
 */
function renderPolicyDocument(inputs: Record<string, unknown>): Record<string, unknown> {
  const one = (values: string[] | undefined) => (values === undefined || values.length !== 1 ? values : values[0]);
  const principals = (list: PolicyStatementInput['principals']) =>
    list &&
    Object.fromEntries(list.map((principal) => [principal.type, one([...principal.identifiers].sort())] as const));
  const statements = ((inputs.statements ?? []) as PolicyStatementInput[]).map((statement) => {
    const rendered: Record<string, unknown> = {
      Sid: statement.sid,
      Effect: statement.effect ?? 'Allow',
      Action: one(statement.actions),
      NotAction: one(statement.notActions),
      Resource: one(statement.resources),
      NotResource: one(statement.notResources),
      Principal: principals(statement.principals),
      NotPrincipal: principals(statement.notPrincipals),
      Condition:
        statement.conditions &&
        statement.conditions.reduce<Record<string, Record<string, unknown>>>((all, condition) => {
          (all[condition.test] ??= {})[condition.variable] = one(condition.values);
          return all;
        }, {}),
    };
    return Object.fromEntries(Object.entries(rendered).filter(([, value]) => value !== undefined && value !== ''));
  });
  return { Version: '2012-10-17', Statement: statements };
}

/** One container of the task definition, as ECS reads it. */
export interface ContainerDefinition {
  readonly name: string;
  readonly image: string;
  readonly environment?: readonly { readonly name: string; readonly value: string }[];
  readonly secrets?: readonly { readonly name: string; readonly valueFrom: string }[];
  readonly [key: string]: unknown;
}

/** The containers of the program's only task definition. */
export function containerDefinitions(run: ProgramRun): ContainerDefinition[] {
  const raw = plainInput(run.one('aws:ecs/taskDefinition:TaskDefinition').inputs.containerDefinitions);
  return JSON.parse(String(raw)) as ContainerDefinition[];
}

/** The task definition's only container. */
export function onlyContainer(run: ProgramRun): ContainerDefinition {
  const containers = containerDefinitions(run);
  if (containers.length !== 1) throw new Error(`expected one container, found ${containers.length}`);
  return containers[0]!;
}

/** A container's plain `environment` as a map. */
export function plainEnvironment(container: ContainerDefinition): Record<string, string> {
  return Object.fromEntries((container.environment ?? []).map(({ name, value }) => [name, value]));
}

/** `<secret arn>:<json key>:<version stage>:<version id>`, the form ECS accepts in `valueFrom`. */
export function parseSecretReference(valueFrom: string): {
  arn: string;
  jsonKey: string;
  versionStage: string;
  versionId: string;
} {
  const parts = valueFrom.split(':');
  // arn:aws:secretsmanager:<region>:<account>:secret:<name> is seven fields.
  const [jsonKey = '', versionStage = '', versionId = ''] = parts.slice(7);
  return { arn: parts.slice(0, 7).join(':'), jsonKey, versionStage, versionId };
}

/**
 * The Secrets Manager secret and version a `valueFrom` points at, found
 * through the declared resources (ARN → secret → its versions).
 */
export function secretBehind(
  run: ProgramRun,
  valueFrom: string,
): { secret: DeclaredResource; version: DeclaredResource; value: string } {
  const reference = parseSecretReference(valueFrom);
  const secret = run.ofType('aws:secretsmanager/secret:Secret').find((s) => s.outputs.arn === reference.arn);
  if (secret === undefined) throw new Error(`no declared secret has the ARN ${reference.arn}`);
  const versions = run
    .ofType('aws:secretsmanager/secretVersion:SecretVersion')
    .filter((v) => v.inputs.secretId === secret.id)
    .filter((v) => reference.versionId === '' || v.outputs.versionId === reference.versionId);
  if (versions.length !== 1) throw new Error(`${valueFrom} matches ${versions.length} secret versions`);
  const version = versions[0]!;
  return { secret, version, value: String(plainInput(version.inputs.secretString)) };
}

/** The environment the gateway process gets: the plain variables plus the secrets ECS injects at start. */
export function processEnvironment(run: ProgramRun): Record<string, string> {
  const container = onlyContainer(run);
  return {
    ...plainEnvironment(container),
    ...Object.fromEntries(
      (container.secrets ?? []).map(({ name, valueFrom }) => [name, secretBehind(run, valueFrom).value]),
    ),
  };
}
