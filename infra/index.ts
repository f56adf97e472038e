import * as pulumi from '@pulumi/pulumi';
import { SERVICE_VARIABLE } from '@atlas/gateway/metrics';
import { DEFAULT_CALLER } from '../gateway/src/config';
import { createCallerTokens, formatAccessTokens, tokensByCaller } from './callers';
import { buildGatewayImage } from './image';
import { AtlasLoadBalancer } from './load-balancer';
import { AtlasMonitoring, stackLabel } from './monitoring';
import { findNetwork } from './network';
import { AtlasSecrets } from './secrets';
import { AtlasService } from './service';
import { readStackConfig } from './stack-config';

const CONTAINER_PORT = 8080;
/** The gateway's drain after SIGTERM; the load balancer's deregistration delay matches it. */
const DRAIN_SECONDS = 20;

/**
 * The Atlas stack. Pulumi runs the exported function and takes its result as
 * the stack outputs (a function, so tests can run the program once per config).
 */
export = function atlas() {
  // 1. The configuration, checked before anything is created.
  const config = readStackConfig();
  // Names this stack's dashboard and alarms, and is the Service dimension of the gateway's metrics.
  const label = stackLabel(pulumi.getStack());

  // 2. Secrets: each ${{ VAR }} of the adapters, and one access token per caller.
  const tokens = createCallerTokens(config.callers);
  const secrets = new AtlasSecrets('atlas', {
    values: new Map([...config.secrets, ['ATLAS_ACCESS_TOKENS', formatAccessTokens(tokens)]]),
  });
  const defaultToken = tokens.get(DEFAULT_CALLER);

  // 3. The gateway image, the network and the load balancer.
  const { imageUri } = buildGatewayImage('atlas-gateway');
  const network = findNetwork(config);
  const loadBalancer = new AtlasLoadBalancer('atlas', {
    vpcId: network.vpcId,
    vpcCidr: network.vpcCidr,
    subnetIds: network.publicSubnetIds,
    allowedCidrs: config.allowedCidrs,
    certificateArn: config.certificateArn,
    containerPort: CONTAINER_PORT,
    deregistrationDelaySeconds: DRAIN_SECONDS,
  });

  // 4. The service: adapters travel as JSON (placeholders only), secrets as ECS secrets.
  const service = new AtlasService('atlas', {
    imageUri,
    containerPort: CONTAINER_PORT,
    cpu: config.cpu,
    memory: config.memory,
    environment: {
      ATLAS_ADAPTERS: JSON.stringify(config.adapters),
      HOST: '0.0.0.0',
      PORT: String(CONTAINER_PORT),
      ATLAS_SHUTDOWN_GRACE_MS: String(DRAIN_SECONDS * 1000),
      [SERVICE_VARIABLE]: label,
      ...(config.oidc && {
        ATLAS_OIDC_ISSUER: config.oidc.issuer,
        ATLAS_OIDC_AUDIENCE: config.oidc.audience,
        ATLAS_OIDC_JWKS_URL: config.oidc.jwksUrl,
      }),
    },
    secrets: secrets.references,
    vpcId: network.vpcId,
    subnetIds: network.taskSubnetIds,
    assignPublicIp: network.assignPublicIp,
    loadBalancerSecurityGroupId: loadBalancer.securityGroup.id,
    egressPorts: upstreamPorts(config.adapters.map((adapter) => adapter.baseUrl)),
    targetGroupArn: loadBalancer.targetGroup.arn,
    requestCountResourceLabel: pulumi.interpolate`${loadBalancer.loadBalancer.arnSuffix}/${loadBalancer.targetGroup.arnSuffix}`,
    desiredCount: config.desiredCount,
    minCount: config.minCount,
    maxCount: config.maxCount,
    logRetentionDays: config.logRetentionDays,
    stopTimeoutSeconds: DRAIN_SECONDS + 10,
  });

  // 5. Alarms to a topic (and an email), and a dashboard of the same metrics.
  const monitoring = new AtlasMonitoring('atlas', {
    label,
    metricsService: label,
    adapterNames: config.adapters.map((adapter) => adapter.name),
    loadBalancerArnSuffix: loadBalancer.loadBalancer.arnSuffix,
    targetGroupArnSuffix: loadBalancer.targetGroup.arnSuffix,
    clusterName: service.cluster.name,
    serviceName: service.service.name,
    minCount: config.minCount,
    rateLimitAlarmBelow: config.rateLimitAlarmBelow,
    alarmEmail: config.alarmEmail,
  });

  // 6. What callers and operators need.
  return {
    url: loadBalancer.url,
    accessTokens: tokensByCaller(tokens),
    // The default caller's token, as before callers had names; absent when atlas:callers leaves it out.
    ...(defaultToken && { accessToken: pulumi.secret(defaultToken) }),
    clusterName: service.cluster.name,
    serviceName: service.service.name,
    logGroupName: service.logGroup.name,
    dashboardUrl: monitoring.dashboardUrl,
    alarmTopicArn: monitoring.topic.arn,
    secretArns: pulumi.all(Object.fromEntries([...secrets.references].map(([variable, ref]) => [variable, ref.arn]))),
    imageUri,
    // One CNAME per host-routed adapter's host name, to create at the DNS provider.
    dnsRecords: loadBalancer.loadBalancer.dnsName.apply((target) =>
      config.adapters.flatMap((adapter) =>
        (adapter.hostnames ?? []).map((name) => ({ name, type: 'CNAME', value: target })),
      ),
    ),
  };
};

/** 443 for AWS APIs, plus the port of every upstream. */
function upstreamPorts(baseUrls: readonly string[]): number[] {
  const ports = new Set([443]);
  for (const baseUrl of baseUrls) {
    const url = new URL(baseUrl);
    ports.add(Number(url.port) || (url.protocol === 'https:' ? 443 : 80));
  }
  return [...ports].sort((a, b) => a - b);
}
