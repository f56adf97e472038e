import { createHash } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';
import atlas from '../../infra/index';

/** One resource the program declared, with its inputs as the engine received them. */
export interface DeclaredResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

export interface ProgramRun {
  readonly resources: readonly DeclaredResource[];
  /** The stack outputs, resolved. */
  readonly outputs: Record<string, unknown>;
  /** Stack output names that are secrets. */
  readonly secretOutputs: ReadonlySet<string>;
  /** Resources of one type (e.g. "aws:ecs/taskDefinition:TaskDefinition"). */
  ofType(type: string): DeclaredResource[];
  /** The only resource of a type; fails when there is not exactly one. */
  one(type: string): DeclaredResource;
}

export interface StackSettings {
  /** Keys without a namespace get "atlas:". Objects are stored as JSON, as the CLI does. */
  readonly config: Record<string, unknown>;
  /** Keys (same form) set with --secret. */
  readonly secretKeys?: readonly string[];
}

/**
 * Runs the real Pulumi program (infra/index.ts) against mocks of the engine:
 * no AWS, no CLI. Every resource's inputs are recorded as the engine would
 * receive them; cloud-assigned outputs (ARNs, DNS names, secret version ids)
 * are made up deterministically from the inputs.
 */
export async function runProgram(settings: StackSettings): Promise<ProgramRun> {
  const resources: DeclaredResource[] = [];

  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: { ...args.inputs, ...cloudOutputs(args.type, args.name, args.inputs) } };
      },
      call: (args) => mockCall(args.token, args.inputs),
    },
    'atlas',
    'test',
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
  // The program is a function (see infra/index.ts): each call declares a whole stack.
  const declared = atlas();
  const outputs: Record<string, unknown> = {};
  const secretOutputs = new Set<string>();
  for (const [name, value] of Object.entries(declared)) {
    const output = pulumi.output(value as pulumi.Input<unknown>);
    outputs[name] = await valueOf(output);
    if (await pulumi.isSecret(output)) secretOutputs.add(name);
  }
  await settle(resources);

  const ofType = (type: string) => resources.filter((resource) => resource.type === type);
  return {
    resources,
    outputs,
    secretOutputs,
    ofType,
    one: (type) => {
      const found = ofType(type);
      if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
      return found[0]!;
    },
  };
}

/** Resolves an output's value (mocks resolve everything; nothing stays unknown). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
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
      return { result: `generated-${'x'.repeat(Number(inputs.length) - 10)}` };
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
      return { json: JSON.stringify({ Version: '2012-10-17', Statement: inputs.statements }) };
    default:
      throw new Error(`unexpected call ${token}`);
  }
}
