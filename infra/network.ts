import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export interface Network {
  readonly vpcId: pulumi.Output<string>;
  readonly vpcCidr: pulumi.Output<string>;
  /** Subnets for the load balancer. */
  readonly publicSubnetIds: pulumi.Output<string[]>;
  /** Subnets for the tasks. */
  readonly taskSubnetIds: pulumi.Output<string[]>;
  /**
   * Tasks in public subnets need a public IP to reach ECR, Secrets Manager
   * and the upstream APIs (the default VPC has no NAT gateway). Inbound
   * traffic is still limited to the load balancer by the security group.
   */
  readonly assignPublicIp: boolean;
}

export interface NetworkConfig {
  readonly vpcId: string | undefined;
  readonly publicSubnetIds: readonly string[] | undefined;
  readonly privateSubnetIds: readonly string[] | undefined;
}

/** The configured VPC and subnets, or the account's default VPC and its subnets. */
export function findNetwork(config: NetworkConfig, opts?: pulumi.InvokeOptions): Network {
  const vpc =
    config.vpcId === undefined
      ? aws.ec2.getVpcOutput({ default: true }, opts)
      : aws.ec2.getVpcOutput({ id: config.vpcId }, opts);
  const publicSubnetIds =
    config.publicSubnetIds === undefined
      ? aws.ec2.getSubnetsOutput(
          {
            filters: [
              { name: 'vpc-id', values: [vpc.id] },
              { name: 'default-for-az', values: ['true'] },
            ],
          },
          opts,
        ).ids
      : pulumi.output([...config.publicSubnetIds]);
  const privateSubnetIds = config.privateSubnetIds && pulumi.output([...config.privateSubnetIds]);
  return {
    vpcId: vpc.id,
    vpcCidr: vpc.cidrBlock,
    publicSubnetIds,
    taskSubnetIds: privateSubnetIds ?? publicSubnetIds,
    assignPublicIp: privateSubnetIds === undefined,
  };
}
