import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { SecretReference } from './secrets';

export interface AtlasServiceArgs {
  readonly imageUri: pulumi.Input<string>;
  readonly containerPort: number;
  readonly cpu: number;
  readonly memory: number;
  /** Plain settings of the gateway: never a secret value. */
  readonly environment: Readonly<Record<string, pulumi.Input<string>>>;
  /** Environment variable → secret, injected by ECS at task start. */
  readonly secrets: ReadonlyMap<string, SecretReference>;
  readonly vpcId: pulumi.Input<string>;
  readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  readonly assignPublicIp: boolean;
  readonly loadBalancerSecurityGroupId: pulumi.Input<string>;
  /** TCP ports the tasks may connect out to: the adapters' upstreams, and 443 for AWS APIs. */
  readonly egressPorts: readonly number[];
  readonly targetGroupArn: pulumi.Input<string>;
  /** `app/<name>/<id>/targetgroup/<name>/<id>`, for request-count scaling. */
  readonly requestCountResourceLabel: pulumi.Input<string>;
  readonly desiredCount: number;
  readonly minCount: number;
  readonly maxCount: number;
  readonly logRetentionDays: number;
  /** Seconds ECS waits after SIGTERM before SIGKILL: longer than the gateway's drain. */
  readonly stopTimeoutSeconds: number;
}

const CONTAINER_NAME = 'gateway';
/** Scale out above this average CPU, in percent. */
const TARGET_CPU_PERCENT = 60;
/** Scale out above this many requests per task per minute. */
const TARGET_REQUESTS_PER_TASK = 6000;

/** The gateway on ECS Fargate: cluster, logs, IAM, task definition, service and autoscaling. */
export class AtlasService extends pulumi.ComponentResource {
  readonly cluster: aws.ecs.Cluster;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly executionRole: aws.iam.Role;
  readonly taskRole: aws.iam.Role;
  readonly taskDefinition: aws.ecs.TaskDefinition;
  readonly securityGroup: aws.ec2.SecurityGroup;
  readonly service: aws.ecs.Service;

  constructor(name: string, args: AtlasServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super('atlas:index:Service', name, {}, opts);
    const parent = { parent: this };

    this.cluster = new aws.ecs.Cluster(name, { settings: [{ name: 'containerInsights', value: 'enabled' }] }, parent);
    this.logGroup = new aws.cloudwatch.LogGroup(name, { retentionInDays: args.logRetentionDays }, parent);

    const assumedByEcsTasks = aws.iam.getPolicyDocumentOutput({
      statements: [
        { actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['ecs-tasks.amazonaws.com'] }] },
      ],
    }).json;
    this.executionRole = new aws.iam.Role(`${name}-execution`, { assumeRolePolicy: assumedByEcsTasks }, parent);
    new aws.iam.RolePolicyAttachment(
      `${name}-execution`,
      { role: this.executionRole.name, policyArn: aws.iam.ManagedPolicy.AmazonECSTaskExecutionRolePolicy },
      parent,
    );
    // The execution role reads exactly the gateway's secrets, nothing else.
    const secretArns = [...args.secrets.values()].map((ref) => ref.arn);
    new aws.iam.RolePolicy(
      `${name}-read-secrets`,
      {
        role: this.executionRole.id,
        policy: pulumi.all(secretArns).apply((arns) =>
          JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: arns }],
          }),
        ),
      },
      parent,
    );
    // The gateway calls no AWS API: its task role has no permissions at all.
    this.taskRole = new aws.iam.Role(`${name}-task`, { assumeRolePolicy: assumedByEcsTasks }, parent);

    const region = aws.getRegionOutput({}, parent).region;
    const containerDefinitions = pulumi
      .all([
        args.imageUri,
        pulumi.all(args.environment),
        pulumi.all(Object.fromEntries([...args.secrets].map(([variable, ref]) => [variable, ref.valueFrom]))),
        this.logGroup.name,
        region,
      ])
      .apply(([image, environment, secrets, logGroup, awsRegion]) =>
        JSON.stringify([
          {
            name: CONTAINER_NAME,
            image,
            essential: true,
            portMappings: [{ containerPort: args.containerPort, protocol: 'tcp' }],
            environment: Object.entries(environment)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([envName, value]) => ({ name: envName, value })),
            secrets: Object.entries(secrets)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([envName, valueFrom]) => ({ name: envName, valueFrom })),
            user: '1000:1000',
            readonlyRootFilesystem: true,
            // tini as PID 1 forwards SIGTERM to node and reaps zombies.
            linuxParameters: { initProcessEnabled: true },
            stopTimeout: args.stopTimeoutSeconds,
            logConfiguration: {
              logDriver: 'awslogs',
              options: { 'awslogs-group': logGroup, 'awslogs-region': awsRegion, 'awslogs-stream-prefix': 'gateway' },
            },
          },
        ]),
      );

    this.taskDefinition = new aws.ecs.TaskDefinition(
      name,
      {
        family: name,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: String(args.cpu),
        memory: String(args.memory),
        runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
        executionRoleArn: this.executionRole.arn,
        taskRoleArn: this.taskRole.arn,
        containerDefinitions,
      },
      parent,
    );

    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-tasks`,
      { vpcId: args.vpcId, description: 'Atlas gateway tasks: the container port from the load balancer only' },
      parent,
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-tasks-from-alb`,
      {
        securityGroupId: this.securityGroup.id,
        referencedSecurityGroupId: args.loadBalancerSecurityGroupId,
        ipProtocol: 'tcp',
        fromPort: args.containerPort,
        toPort: args.containerPort,
        description: 'The gateway port, from the load balancer',
      },
      parent,
    );
    for (const port of args.egressPorts) {
      new aws.vpc.SecurityGroupEgressRule(
        `${name}-tasks-out-${port}`,
        {
          securityGroupId: this.securityGroup.id,
          ipProtocol: 'tcp',
          fromPort: port,
          toPort: port,
          cidrIpv4: '0.0.0.0/0',
          description:
            port === 443 ? 'HTTPS to upstream APIs, ECR, Secrets Manager and CloudWatch Logs' : 'To an upstream API',
        },
        parent,
      );
    }

    this.service = new aws.ecs.Service(
      name,
      {
        cluster: this.cluster.arn,
        taskDefinition: this.taskDefinition.arn,
        launchType: 'FARGATE',
        desiredCount: args.desiredCount,
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        healthCheckGracePeriodSeconds: 30,
        networkConfiguration: {
          subnets: args.subnetIds,
          securityGroups: [this.securityGroup.id],
          assignPublicIp: args.assignPublicIp,
        },
        loadBalancers: [
          { targetGroupArn: args.targetGroupArn, containerName: CONTAINER_NAME, containerPort: args.containerPort },
        ],
        propagateTags: 'SERVICE',
        enableEcsManagedTags: true,
        waitForSteadyState: true,
      },
      // The autoscaler owns the task count once the service exists.
      { ...parent, ignoreChanges: ['desiredCount'] },
    );

    const scalingTarget = new aws.appautoscaling.Target(
      name,
      {
        serviceNamespace: 'ecs',
        scalableDimension: 'ecs:service:DesiredCount',
        resourceId: pulumi.interpolate`service/${this.cluster.name}/${this.service.name}`,
        minCapacity: args.minCount,
        maxCapacity: args.maxCount,
      },
      parent,
    );
    const trackTarget = (
      policyName: string,
      metric: aws.types.input.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification,
      targetValue: number,
    ) =>
      new aws.appautoscaling.Policy(
        `${name}-${policyName}`,
        {
          policyType: 'TargetTrackingScaling',
          serviceNamespace: scalingTarget.serviceNamespace,
          scalableDimension: scalingTarget.scalableDimension,
          resourceId: scalingTarget.resourceId,
          targetTrackingScalingPolicyConfiguration: {
            predefinedMetricSpecification: metric,
            targetValue,
            scaleInCooldown: 300,
            scaleOutCooldown: 60,
          },
        },
        parent,
      );
    trackTarget('cpu', { predefinedMetricType: 'ECSServiceAverageCPUUtilization' }, TARGET_CPU_PERCENT);
    trackTarget(
      'requests',
      { predefinedMetricType: 'ALBRequestCountPerTarget', resourceLabel: args.requestCountResourceLabel },
      TARGET_REQUESTS_PER_TASK,
    );

    this.registerOutputs({
      clusterName: this.cluster.name,
      serviceName: this.service.name,
      logGroupName: this.logGroup.name,
    });
  }
}
