import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { adaptersSchema, parseAdaptersJson } from '../../gateway/src/config';
import { resolveAdapters } from '../../gateway/src/config/resolve-adapters';
import { readSettings } from '../../gateway/src/settings';
import {
  type DeclaredResource,
  type ProgramRun,
  type StackSettings,
  onlyContainer,
  plainEnvironment,
  processEnvironment,
  runProgram,
} from '../helpers/pulumi-program';

const REPO = path.resolve(__dirname, '../..');
const HEROKU_API_KEY = 'heroku-key-for-service-tests';
const adapters = [
  {
    name: 'heroku',
    baseUrl: 'https://api.heroku.com',
    headers: [
      { name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' },
      { name: 'Accept', value: 'application/vnd.heroku+json; version=3' },
    ],
  },
];
const OIDC = {
  oidcIssuer: 'https://issuer.example.com/',
  oidcAudience: 'atlas-gateway',
  oidcJwksUrl: 'https://issuer.example.com/.well-known/jwks.json',
};

const defaults: StackSettings = { config: { adapters, HEROKU_API_KEY }, secretKeys: ['HEROKU_API_KEY'] };
const custom: StackSettings = {
  config: {
    ...defaults.config,
    cpu: 1024,
    memory: 2048,
    desiredCount: 3,
    minCount: 3,
    maxCount: 6,
    logRetentionDays: 90,
    ...OIDC,
  },
  secretKeys: defaults.secretKeys,
};

/** "defaults" sets only the adapters and their secret; "custom" sets every sizing key and OIDC. */
let runs: { defaults: ProgramRun; custom: ProgramRun };
beforeAll(async () => {
  runs = { defaults: await runProgram(defaults), custom: await runProgram(custom) };
});

const taskDefinition = (run: ProgramRun) => run.one('aws:ecs/taskDefinition:TaskDefinition');
const ecsService = (run: ProgramRun) => run.one('aws:ecs/service:Service');
const cluster = (run: ProgramRun) => run.one('aws:ecs/cluster:Cluster');
const logGroup = (run: ProgramRun) => run.one('aws:cloudwatch/logGroup:LogGroup');

describe('the task definition', () => {
  test.each([
    { stack: 'defaults', cpu: '256', memory: '512' },
    { stack: 'custom', cpu: '1024', memory: '2048' },
  ] as const)(
    '($stack) Fargate, awsvpc, X86_64 Linux, with cpu $cpu and memory $memory',
    ({ stack: name, cpu, memory }) => {
      expect(taskDefinition(runs[name]).inputs).toMatchObject({
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu,
        memory,
        runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
      });
    },
  );

  test('one essential container "gateway" running the built image on port 8080', () => {
    const container = onlyContainer(runs.defaults);
    expect(container).toMatchObject({ name: 'gateway', essential: true, image: runs.defaults.outputs.imageUri });
    expect(container.portMappings).toEqual([{ containerPort: 8080, protocol: 'tcp' }]);
  });

  test('the container runs as a non-root user on a read-only root filesystem, with an init process', () => {
    const container = onlyContainer(runs.defaults);
    expect(typeof container.user).toBe('string');
    const [user, group] = String(container.user).split(':');
    expect(['', '0', 'root']).not.toContain(user);
    expect(['0', 'root']).not.toContain(group);
    expect(container.privileged).not.toBe(true);
    expect(container.readonlyRootFilesystem).toBe(true);
    expect(container.linuxParameters).toMatchObject({ initProcessEnabled: true });
  });

  test('environment: HOST=0.0.0.0, PORT=8080 and ATLAS_ADAPTERS holding the validated adapters with literal placeholders', () => {
    const environment = plainEnvironment(onlyContainer(runs.defaults));
    expect(environment.HOST).toBe('0.0.0.0');
    expect(environment.PORT).toBe('8080');
    expect(JSON.parse(environment.ATLAS_ADAPTERS!)).toEqual(adaptersSchema.parse(adapters));
    expect(environment.ATLAS_ADAPTERS).toContain('Bearer ${{ HEROKU_API_KEY }}');
  });

  test('the gateway accepts the environment ECS gives it, and substitutes the secret into the adapter header', () => {
    const environment = processEnvironment(runs.defaults);
    const settings = readSettings(environment);
    expect(settings).toMatchObject({ host: '0.0.0.0', port: 8080 });
    expect(settings.auth.accessTokens).toEqual([{ caller: 'default', token: runs.defaults.outputs.accessToken }]);
    const { adapters: resolved, problems } = resolveAdapters(
      parseAdaptersJson(environment.ATLAS_ADAPTERS!),
      environment,
    );
    expect(problems).toEqual([]);
    expect(resolved[0]!.headers.authorization).toBe(`Bearer ${HEROKU_API_KEY}`);
  });

  test('OIDC variables are absent without atlas:oidc* config', () => {
    const names = Object.keys(plainEnvironment(onlyContainer(runs.defaults)));
    expect(names.filter((name) => name.startsWith('ATLAS_OIDC_'))).toEqual([]);
    expect(readSettings(processEnvironment(runs.defaults)).auth.oidc).toBeUndefined();
  });

  test('OIDC variables carry the atlas:oidc* config when it is set, and the gateway turns OIDC on', () => {
    const environment = plainEnvironment(onlyContainer(runs.custom));
    expect(environment).toMatchObject({
      ATLAS_OIDC_ISSUER: OIDC.oidcIssuer,
      ATLAS_OIDC_AUDIENCE: OIDC.oidcAudience,
      ATLAS_OIDC_JWKS_URL: OIDC.oidcJwksUrl,
    });
    const oidc = readSettings(processEnvironment(runs.custom)).auth.oidc;
    expect(oidc).toMatchObject({ issuer: OIDC.oidcIssuer, audience: OIDC.oidcAudience });
    expect(oidc!.jwksUrl.href).toBe(OIDC.oidcJwksUrl);
  });

  test('logs go to the created CloudWatch log group through awslogs', () => {
    const container = onlyContainer(runs.defaults);
    expect(container.logConfiguration).toMatchObject({
      logDriver: 'awslogs',
      options: { 'awslogs-group': logGroup(runs.defaults).outputs.name, 'awslogs-region': 'us-east-1' },
    });
    expect((container.logConfiguration as { options: Record<string, string> }).options).toHaveProperty(
      'awslogs-stream-prefix',
    );
  });
});

test.each([
  { stack: 'defaults', days: 30 },
  { stack: 'custom', days: 90 },
] as const)('($stack) the log group keeps logs $days days', ({ stack: name, days }) => {
  expect(logGroup(runs[name]).inputs.retentionInDays).toBe(days);
});

test('the cluster has Container Insights enabled', () => {
  expect(cluster(runs.defaults).inputs.settings).toContainEqual({ name: 'containerInsights', value: 'enabled' });
});

describe('the service', () => {
  test('runs the task definition on Fargate in the cluster', () => {
    const { inputs } = ecsService(runs.defaults);
    expect(inputs).toMatchObject({
      launchType: 'FARGATE',
      cluster: cluster(runs.defaults).outputs.arn,
      taskDefinition: taskDefinition(runs.defaults).outputs.arn,
    });
  });

  test('rolls out 100/200 percent with the circuit breaker rolling back, and a health-check grace period', () => {
    const { inputs } = ecsService(runs.defaults);
    expect(inputs).toMatchObject({
      deploymentMinimumHealthyPercent: 100,
      deploymentMaximumPercent: 200,
      deploymentCircuitBreaker: { enable: true, rollback: true },
    });
    expect(inputs.healthCheckGracePeriodSeconds).toEqual(expect.any(Number));
    expect(inputs.healthCheckGracePeriodSeconds).toBeGreaterThan(0);
  });

  test('registers container gateway:8080 with the target group', () => {
    expect(ecsService(runs.defaults).inputs.loadBalancers).toEqual([
      {
        targetGroupArn: runs.defaults.one('aws:lb/targetGroup:TargetGroup').outputs.arn,
        containerName: 'gateway',
        containerPort: 8080,
      },
    ]);
  });

  test.each([
    { stack: 'defaults', count: 2 },
    { stack: 'custom', count: 3 },
  ] as const)('($stack) starts with desiredCount $count', ({ stack: name, count }) => {
    expect(ecsService(runs[name]).inputs.desiredCount).toBe(count);
  });

  test("is declared with ignoreChanges: ['desiredCount'], so pulumi up does not undo the autoscaler", () => {
    // Resource options never reach the mocked engine, so this reads the declaration itself.
    const source = readFileSync(path.join(REPO, 'infra', 'service.ts'), 'utf8');
    const declaration = callStartingAt(source, 'new aws.ecs.Service(');
    expect(declaration).toContain("ignoreChanges: ['desiredCount']");
  });
});

describe('autoscaling', () => {
  const target = (run: ProgramRun) => run.one('aws:appautoscaling/target:Target');
  const policies = (run: ProgramRun) => run.ofType('aws:appautoscaling/policy:Policy');
  const metricOf = (policy: DeclaredResource) =>
    (
      policy.inputs.targetTrackingScalingPolicyConfiguration as {
        predefinedMetricSpecification: { predefinedMetricType: string; resourceLabel?: string };
        targetValue: number;
      }
    ).predefinedMetricSpecification;

  test.each([
    { stack: 'defaults', min: 2, max: 10 },
    { stack: 'custom', min: 3, max: 6 },
  ] as const)('($stack) the service scales between $min and $max tasks', ({ stack: name, min, max }) => {
    const run = runs[name];
    expect(target(run).inputs).toMatchObject({
      serviceNamespace: 'ecs',
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${String(cluster(run).outputs.name)}/${String(ecsService(run).outputs.name)}`,
      minCapacity: min,
      maxCapacity: max,
    });
  });

  test('target tracking on average CPU and on ALB requests per target', () => {
    const run = runs.defaults;
    const found = policies(run);
    for (const policy of found) {
      expect(policy.inputs).toMatchObject({
        policyType: 'TargetTrackingScaling',
        resourceId: target(run).inputs.resourceId,
        scalableDimension: 'ecs:service:DesiredCount',
        serviceNamespace: 'ecs',
      });
      expect(
        (policy.inputs.targetTrackingScalingPolicyConfiguration as { targetValue: number }).targetValue,
      ).toBeGreaterThan(0);
    }
    expect(found.map((policy) => metricOf(policy).predefinedMetricType).sort()).toEqual([
      'ALBRequestCountPerTarget',
      'ECSServiceAverageCPUUtilization',
    ]);
  });

  test('the request-count policy names <load balancer arnSuffix>/<target group arnSuffix>', () => {
    const run = runs.defaults;
    const requests = policies(run).find((p) => metricOf(p).predefinedMetricType === 'ALBRequestCountPerTarget')!;
    const alb = run.one('aws:lb/loadBalancer:LoadBalancer').outputs.arnSuffix;
    const targetGroup = run.one('aws:lb/targetGroup:TargetGroup').outputs.arnSuffix;
    expect(metricOf(requests).resourceLabel).toBe(`${String(alb)}/${String(targetGroup)}`);
  });
});

describe('host-routed adapters', () => {
  test('hostnames travel with the adapters to the gateway, and dnsRecords names one CNAME per host name to the load balancer', async () => {
    const hostnames = ['heroku.atlas.example.com', 'heroku-eu.atlas.example.com'];
    const run = await runProgram({
      config: { ...defaults.config, adapters: [{ ...adapters[0]!, hostnames }] },
      secretKeys: defaults.secretKeys,
    });
    const sent = parseAdaptersJson(plainEnvironment(onlyContainer(run)).ATLAS_ADAPTERS!);
    expect(sent[0]!.hostnames).toEqual(hostnames);
    const target = run.one('aws:lb/loadBalancer:LoadBalancer').outputs.dnsName;
    expect(run.outputs.dnsRecords).toEqual(hostnames.map((name) => ({ name, type: 'CNAME', value: target })));
    expect(runs.defaults.outputs.dnsRecords).toEqual([]);
  });
});

describe('outputs', () => {
  test('clusterName, serviceName and logGroupName name the created resources', () => {
    const run = runs.defaults;
    expect(run.outputs).toMatchObject({
      clusterName: cluster(run).outputs.name,
      serviceName: ecsService(run).outputs.name,
      logGroupName: logGroup(run).outputs.name,
    });
  });

  test('imageUri is the image built from gateway/Dockerfile for linux/amd64 and pushed to the ECR repository', () => {
    const run = runs.defaults;
    const image = run.one('awsx:ecr:Image');
    expect(run.outputs.imageUri).toBe(image.outputs.imageUri);
    expect(image.inputs).toMatchObject({
      repositoryUrl: run.one('awsx:ecr:Repository').outputs.url,
      dockerfile: path.join(REPO, 'gateway', 'Dockerfile'),
      platform: 'linux/amd64',
    });
    expect(path.resolve(String(image.inputs.context))).toBe(REPO);
    expect(existsSync(String(image.inputs.dockerfile))).toBe(true);
  });
});

/** The text of a call expression, from `opening` to its matching closing parenthesis. */
function callStartingAt(source: string, opening: string): string {
  const start = source.indexOf(opening);
  if (start === -1) throw new Error(`${opening} not found`);
  let depth = 0;
  for (let i = start + opening.length - 1; i < source.length; i++) {
    if (source[i] === '(') depth++;
    if (source[i] === ')' && --depth === 0) return source.slice(start, i + 1);
  }
  throw new Error(`${opening} is not closed`);
}
