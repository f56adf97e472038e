import { type DeclaredResource, type ProgramRun, type StackSettings, runProgram } from '../helpers/pulumi-program';

const CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
const OFFICE = '203.0.113.0/24';
const VPN = '198.51.100.7/32';
const DEFAULT_SUBNETS = ['subnet-default-a', 'subnet-default-b', 'subnet-default-c'];
const PUBLIC_SUBNETS = ['subnet-public-1', 'subnet-public-2'];
const PRIVATE_SUBNETS = ['subnet-private-1', 'subnet-private-2'];

const heroku = {
  name: 'heroku',
  baseUrl: 'https://api.heroku.com',
  headers: [{ name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' }],
};
function stack(config: Record<string, unknown>, adapters: object[] = [heroku]): StackSettings {
  return {
    config: { adapters, HEROKU_API_KEY: 'heroku-key-for-network-tests', ...config },
    secretKeys: ['HEROKU_API_KEY'],
  };
}

const STACKS = {
  /** Everything defaulted: the default VPC, HTTP only, open to the internet. */
  defaults: stack({}),
  /** Two CIDR blocks, no certificate, and an upstream on a non-standard port. */
  twoCidrs: stack({ allowedCidrs: [OFFICE, VPN] }, [
    heroku,
    { name: 'internal', baseUrl: 'http://example.internal:8081', headers: [] },
  ]),
  /** Two CIDR blocks with HTTPS, in a VPC of one's own with private subnets for the tasks. */
  ownVpc: stack(
    {
      allowedCidrs: [OFFICE, VPN],
      certificateArn: CERTIFICATE_ARN,
      vpcId: 'vpc-0123456789abcdef0',
      publicSubnetIds: PUBLIC_SUBNETS,
      privateSubnetIds: PRIVATE_SUBNETS,
    },
    [heroku, { name: 'legacy', baseUrl: 'http://legacy.example.internal/api', headers: [] }],
  ),
  /** A VPC of one's own without private subnets: the tasks share the public ones. */
  publicOnly: stack({ vpcId: 'vpc-0fedcba987654321f', publicSubnetIds: PUBLIC_SUBNETS }),
};
type StackName = keyof typeof STACKS;

const runs = {} as Record<StackName, ProgramRun>;
beforeAll(async () => {
  for (const name of Object.keys(STACKS) as StackName[]) runs[name] = await runProgram(STACKS[name]);
});

interface Rule {
  readonly direction: 'ingress' | 'egress';
  readonly protocol: string;
  readonly fromPort: number;
  readonly toPort: number;
  /** A CIDR block, or `sg:<id>` for another security group. */
  readonly peer: string;
}

/**
 * Every rule of a security group, wherever it is declared: standalone
 * ingress/egress rule resources, legacy SecurityGroupRule resources, or
 * inline on the group.
 */
function rulesOf(run: ProgramRun, groupId: string): Rule[] {
  const rules: Rule[] = [];
  const add = (direction: Rule['direction'], rule: Record<string, unknown>, peers: unknown[]) => {
    for (const peer of peers.filter((p) => typeof p === 'string')) {
      rules.push({
        direction,
        protocol: String(rule.ipProtocol ?? rule.protocol),
        fromPort: Number(rule.fromPort),
        toPort: Number(rule.toPort),
        peer,
      });
    }
  };
  const list = (value: unknown) => (Array.isArray(value) ? (value as unknown[]) : []);
  for (const [type, direction] of [
    ['aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule', 'ingress'],
    ['aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule', 'egress'],
  ] as const) {
    for (const { inputs } of run.ofType(type).filter((r) => r.inputs.securityGroupId === groupId)) {
      const group = inputs.referencedSecurityGroupId;
      add(direction, inputs, [
        inputs.cidrIpv4,
        inputs.cidrIpv6,
        inputs.prefixListId,
        group === undefined ? undefined : `sg:${String(group)}`,
      ]);
    }
  }
  for (const { inputs } of run
    .ofType('aws:ec2/securityGroupRule:SecurityGroupRule')
    .filter((r) => r.inputs.securityGroupId === groupId)) {
    const group = inputs.sourceSecurityGroupId ?? (inputs.self === true ? groupId : undefined);
    add(inputs.type as Rule['direction'], inputs, [
      ...list(inputs.cidrBlocks),
      ...list(inputs.ipv6CidrBlocks),
      ...list(inputs.prefixListIds),
      group === undefined ? undefined : `sg:${String(group)}`,
    ]);
  }
  const group = run.ofType('aws:ec2/securityGroup:SecurityGroup').find((g) => g.id === groupId);
  for (const direction of ['ingress', 'egress'] as const) {
    for (const rule of list(group?.inputs[direction]) as Record<string, unknown>[]) {
      add(direction, rule, [
        ...list(rule.cidrBlocks),
        ...list(rule.ipv6CidrBlocks),
        ...list(rule.prefixListIds),
        ...list(rule.securityGroups).map((id) => `sg:${String(id)}`),
        rule.self === true ? `sg:${groupId}` : undefined,
      ]);
    }
  }
  return rules;
}

/** Rules in a readable, order-free form: "tcp 80-80 203.0.113.0/24". */
function describeRules(rules: Rule[], direction: Rule['direction']): string[] {
  return rules
    .filter((rule) => rule.direction === direction)
    .map((rule) => `${rule.protocol} ${rule.fromPort}-${rule.toPort} ${rule.peer}`)
    .sort();
}

function loadBalancer(run: ProgramRun): DeclaredResource {
  return run.one('aws:lb/loadBalancer:LoadBalancer');
}
function service(run: ProgramRun): DeclaredResource {
  return run.one('aws:ecs/service:Service');
}
function loadBalancerGroupId(run: ProgramRun): string {
  const groups = loadBalancer(run).inputs.securityGroups as string[];
  expect(groups).toHaveLength(1);
  return groups[0]!;
}
function taskGroupId(run: ProgramRun): string {
  const groups = (service(run).inputs.networkConfiguration as { securityGroups: string[] }).securityGroups;
  expect(groups).toHaveLength(1);
  return groups[0]!;
}
function taskNetwork(run: ProgramRun): { subnets: string[]; assignPublicIp: boolean } {
  return service(run).inputs.networkConfiguration as { subnets: string[]; assignPublicIp: boolean };
}

describe('the load balancer security group', () => {
  test.each([
    ['defaults: HTTP from anywhere', 'defaults', ['tcp 80-80 0.0.0.0/0']],
    ['two CIDR blocks: HTTP from each', 'twoCidrs', [`tcp 80-80 ${VPN}`, `tcp 80-80 ${OFFICE}`]],
    [
      'two CIDR blocks and a certificate: HTTP and HTTPS from each',
      'ownVpc',
      [`tcp 443-443 ${VPN}`, `tcp 443-443 ${OFFICE}`, `tcp 80-80 ${VPN}`, `tcp 80-80 ${OFFICE}`],
    ],
  ] as const)('ingress with %s, and nothing else', (_label, name, expected) => {
    const run = runs[name];
    expect(describeRules(rulesOf(run, loadBalancerGroupId(run)), 'ingress')).toEqual([...expected].sort());
  });

  test.each(Object.keys(STACKS) as StackName[])('egress (%s): only the container port, inside the VPC', (name) => {
    const run = runs[name];
    expect(describeRules(rulesOf(run, loadBalancerGroupId(run)), 'egress')).toEqual(['tcp 8080-8080 172.31.0.0/16']);
  });
});

describe('the task security group', () => {
  test.each(Object.keys(STACKS) as StackName[])(
    'ingress (%s): port 8080 from the load balancer security group only, no CIDR block',
    (name) => {
      const run = runs[name];
      expect(taskGroupId(run)).not.toBe(loadBalancerGroupId(run));
      expect(describeRules(rulesOf(run, taskGroupId(run)), 'ingress')).toEqual([
        `tcp 8080-8080 sg:${loadBalancerGroupId(run)}`,
      ]);
    },
  );

  test.each([
    ['only HTTPS upstreams: 443', 'defaults', [443]],
    ['an upstream at http://example.internal:8081: 443 and 8081', 'twoCidrs', [443, 8081]],
    ['an upstream at http://legacy.example.internal/api: 443 and 80', 'ownVpc', [80, 443]],
  ] as const)('egress with %s', (_label, name, ports) => {
    const run = runs[name];
    expect(describeRules(rulesOf(run, taskGroupId(run)), 'egress')).toEqual(
      ports.map((port) => `tcp ${port}-${port} 0.0.0.0/0`).sort(),
    );
  });
});

describe('subnets', () => {
  test('without atlas:vpcId: the default VPC and its subnets; tasks in them get public IPs', () => {
    const run = runs.defaults;
    const vpcLookups = run.calls.filter((call) => call.token === 'aws:ec2/getVpc:getVpc');
    expect(vpcLookups.map((call) => call.inputs)).toEqual([{ default: true }]);
    const subnetLookups = run.calls.filter((call) => call.token === 'aws:ec2/getSubnets:getSubnets');
    expect(subnetLookups).toHaveLength(1);
    expect(subnetLookups[0]!.inputs.filters).toContainEqual({ name: 'vpc-id', values: ['vpc-default'] });
    expect(loadBalancer(run).inputs.subnets).toEqual(DEFAULT_SUBNETS);
    expect(taskNetwork(run)).toMatchObject({ subnets: DEFAULT_SUBNETS, assignPublicIp: true });
    for (const group of run.ofType('aws:ec2/securityGroup:SecurityGroup'))
      expect(group.inputs.vpcId).toBe('vpc-default');
    expect(run.one('aws:lb/targetGroup:TargetGroup').inputs.vpcId).toBe('vpc-default');
  });

  test('with atlas:vpcId and both subnet lists: the load balancer in the public subnets, tasks in the private ones without public IPs', () => {
    const run = runs.ownVpc;
    expect(run.calls.some((call) => call.inputs.default === true)).toBe(false);
    expect(run.calls.some((call) => call.token === 'aws:ec2/getSubnets:getSubnets')).toBe(false);
    expect(loadBalancer(run).inputs.subnets).toEqual(PUBLIC_SUBNETS);
    expect(taskNetwork(run)).toMatchObject({ subnets: PRIVATE_SUBNETS, assignPublicIp: false });
    for (const group of run.ofType('aws:ec2/securityGroup:SecurityGroup')) {
      expect(group.inputs.vpcId).toBe('vpc-0123456789abcdef0');
    }
    expect(run.one('aws:lb/targetGroup:TargetGroup').inputs.vpcId).toBe('vpc-0123456789abcdef0');
  });

  test('with atlas:vpcId and public subnets only: tasks share the public subnets and get public IPs', () => {
    const run = runs.publicOnly;
    expect(loadBalancer(run).inputs.subnets).toEqual(PUBLIC_SUBNETS);
    expect(taskNetwork(run)).toMatchObject({ subnets: PUBLIC_SUBNETS, assignPublicIp: true });
  });

  test('the load balancer is internet-facing', () => {
    for (const run of Object.values(runs)) expect(loadBalancer(run).inputs.internal).toBe(false);
  });
});
