import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export interface AtlasLoadBalancerArgs {
  readonly vpcId: pulumi.Input<string>;
  readonly vpcCidr: pulumi.Input<string>;
  readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Who may call the gateway: known when the program runs, one rule per block. */
  readonly allowedCidrs: readonly string[];
  /** With a certificate: HTTPS on 443, and HTTP on 80 only redirects to it. */
  readonly certificateArn?: pulumi.Input<string>;
  readonly containerPort: number;
  /** How long a stopping task keeps its in-flight requests (the gateway's drain). */
  readonly deregistrationDelaySeconds: number;
}

/**
 * TLS 1.3 with TLS 1.2 as the floor and only forward-secret ciphers: the
 * ALB policy AWS recommends for new listeners.
 */
export const TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';

/** A public Application Load Balancer in front of the gateway tasks. */
export class AtlasLoadBalancer extends pulumi.ComponentResource {
  readonly securityGroup: aws.ec2.SecurityGroup;
  readonly loadBalancer: aws.lb.LoadBalancer;
  readonly targetGroup: aws.lb.TargetGroup;
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: AtlasLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('atlas:index:LoadBalancer', name, {}, opts);
    const https = args.certificateArn !== undefined;

    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-alb`,
      { vpcId: args.vpcId, description: 'Atlas load balancer: HTTP(S) from the allowed CIDR blocks' },
      { parent: this },
    );
    for (const port of https ? [80, 443] : [80]) {
      args.allowedCidrs.forEach((cidr, index) => {
        new aws.vpc.SecurityGroupIngressRule(
          `${name}-alb-in-${port}-${index}`,
          {
            securityGroupId: this.securityGroup.id,
            ipProtocol: 'tcp',
            fromPort: port,
            toPort: port,
            cidrIpv4: cidr,
            description: `HTTP${port === 443 ? 'S' : ''} from ${cidr}`,
          },
          { parent: this },
        );
      });
    }
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-alb-out`,
      {
        securityGroupId: this.securityGroup.id,
        ipProtocol: 'tcp',
        fromPort: args.containerPort,
        toPort: args.containerPort,
        cidrIpv4: args.vpcCidr,
        description: 'To the gateway tasks in the VPC',
      },
      { parent: this },
    );

    this.loadBalancer = new aws.lb.LoadBalancer(
      name,
      {
        loadBalancerType: 'application',
        internal: false,
        subnets: args.subnetIds,
        securityGroups: [this.securityGroup.id],
        // Requests with malformed header names never reach the gateway.
        dropInvalidHeaderFields: true,
        idleTimeout: 60,
      },
      { parent: this },
    );

    this.targetGroup = new aws.lb.TargetGroup(
      name,
      {
        vpcId: args.vpcId,
        targetType: 'ip',
        port: args.containerPort,
        protocol: 'HTTP',
        deregistrationDelay: args.deregistrationDelaySeconds,
        healthCheck: {
          path: '/healthz',
          matcher: '200',
          interval: 10,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
      },
      { parent: this },
    );

    if (https) {
      new aws.lb.Listener(
        `${name}-https`,
        {
          loadBalancerArn: this.loadBalancer.arn,
          port: 443,
          protocol: 'HTTPS',
          sslPolicy: TLS_POLICY,
          certificateArn: args.certificateArn,
          defaultActions: [{ type: 'forward', targetGroupArn: this.targetGroup.arn }],
        },
        { parent: this },
      );
    }
    new aws.lb.Listener(
      `${name}-http`,
      {
        loadBalancerArn: this.loadBalancer.arn,
        port: 80,
        protocol: 'HTTP',
        defaultActions: [
          https
            ? { type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } }
            : { type: 'forward', targetGroupArn: this.targetGroup.arn },
        ],
      },
      { parent: this },
    );

    this.url = pulumi.interpolate`${https ? 'https' : 'http'}://${this.loadBalancer.dnsName}`;
    this.registerOutputs({ url: this.url });
  }
}
