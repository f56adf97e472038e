import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { DIMENSION, METRIC, METRICS_NAMESPACE } from '@atlas/gateway/metrics';
import { buildDashboardBody } from './dashboard';

export interface AtlasMonitoringArgs {
  /** Names the dashboard and prefixes the alarms: `atlas-<stack>`. */
  readonly label: string;
  /** The `Service` dimension's value: what the task definition sets in ATLAS_METRICS_SERVICE. */
  readonly metricsService: string;
  readonly adapterNames: readonly string[];
  /** `app/<name>/<id>`, the `LoadBalancer` dimension of the ALB metrics. */
  readonly loadBalancerArnSuffix: pulumi.Input<string>;
  /** `targetgroup/<name>/<id>`, the `TargetGroup` dimension. */
  readonly targetGroupArnSuffix: pulumi.Input<string>;
  readonly clusterName: pulumi.Input<string>;
  readonly serviceName: pulumi.Input<string>;
  /** Fewer running tasks than this for three minutes raises an alarm. */
  readonly minCount: number;
  readonly rateLimitAlarmBelow: number;
  /** Subscribed to the alarm topic by email when set. */
  readonly alarmEmail?: string;
}

/** Load balancer 5xx answers, in percent of its requests, above which the rate alarm counts a minute. */
export const ALB_5XX_PERCENT = 5;
const PERIOD_SECONDS = 60;
/** Where each alarm's description sends the reader. */
const RUNBOOK = 'docs/operating.md';

/** The alarm topic (with its email subscription), the alarms, and the dashboard. */
export class AtlasMonitoring extends pulumi.ComponentResource {
  readonly topic: aws.sns.Topic;
  readonly alarms: aws.cloudwatch.MetricAlarm[];
  readonly dashboard: aws.cloudwatch.Dashboard;
  readonly dashboardUrl: pulumi.Output<string>;

  constructor(name: string, args: AtlasMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super('atlas:index:Monitoring', name, {}, opts);
    const parent = { parent: this };

    // Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS-managed SNS key,
    // and alarm messages carry no secret.
    this.topic = new aws.sns.Topic(`${name}-alarms`, { displayName: `Atlas alarms (${args.label})` }, parent);
    if (args.alarmEmail !== undefined) {
      new aws.sns.TopicSubscription(
        `${name}-alarms-email`,
        { topic: this.topic.arn, protocol: 'email', endpoint: args.alarmEmail },
        parent,
      );
    }

    const alarm = (
      alarmName: string,
      description: string,
      anchor: string,
      settings: Omit<aws.cloudwatch.MetricAlarmArgs, 'name' | 'alarmDescription' | 'alarmActions' | 'okActions'>,
    ) =>
      new aws.cloudwatch.MetricAlarm(
        `${name}-${alarmName}`,
        {
          // Named after the stack: the notification says which Atlas it is about.
          name: `${args.label}-${alarmName}`,
          alarmDescription: `${description} See ${RUNBOOK}#${anchor}.`,
          alarmActions: [this.topic.arn],
          okActions: [this.topic.arn],
          ...settings,
        },
        parent,
      );
    const loadBalancer = { LoadBalancer: args.loadBalancerArnSuffix };
    const albSum = (id: string, metricName: string) => ({
      id,
      metric: {
        namespace: 'AWS/ApplicationELB',
        metricName,
        dimensions: loadBalancer,
        period: PERIOD_SECONDS,
        stat: 'Sum',
      },
    });

    this.alarms = [
      // The ALB counts a request it answers itself (502, 503 with no healthy target) in
      // HTTPCode_ELB_5XX_Count, not in RequestCount: both are in the denominator.
      alarm(
        'alb-5xx-rate',
        `More than ${ALB_5XX_PERCENT}% of the load balancer's answers were 5xx for 3 minutes in a row.`,
        'alb-5xx-rate',
        {
          comparisonOperator: 'GreaterThanThreshold',
          threshold: ALB_5XX_PERCENT,
          evaluationPeriods: 3,
          datapointsToAlarm: 3,
          treatMissingData: 'notBreaching',
          metricQueries: [
            albSum('requests', 'RequestCount'),
            albSum('target5xx', 'HTTPCode_Target_5XX_Count'),
            albSum('elb5xx', 'HTTPCode_ELB_5XX_Count'),
            {
              id: 'rate',
              expression: '100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / (FILL(requests, 0) + FILL(elb5xx, 0))',
              label: '5xx answers (%)',
              returnData: true,
            },
          ],
        },
      ),
      alarm(
        'unhealthy-hosts',
        'A gateway task has failed the load balancer health check (GET /healthz) for 3 minutes.',
        'unhealthy-hosts',
        {
          namespace: 'AWS/ApplicationELB',
          metricName: 'UnHealthyHostCount',
          dimensions: { TargetGroup: args.targetGroupArnSuffix, ...loadBalancer },
          statistic: 'Maximum',
          period: PERIOD_SECONDS,
          comparisonOperator: 'GreaterThanThreshold',
          threshold: 0,
          evaluationPeriods: 3,
          datapointsToAlarm: 3,
          treatMissingData: 'notBreaching',
        },
      ),
      // Container Insights (enabled on the cluster) reports the service's running tasks each
      // minute. No data means no task reports at all: that counts as below.
      alarm(
        'running-tasks',
        `Fewer than atlas:minCount (${args.minCount}) gateway tasks have been running for 3 minutes.`,
        'running-tasks',
        {
          namespace: 'ECS/ContainerInsights',
          metricName: 'RunningTaskCount',
          dimensions: { ClusterName: args.clusterName, ServiceName: args.serviceName },
          statistic: 'Maximum',
          period: PERIOD_SECONDS,
          comparisonOperator: 'LessThanThreshold',
          threshold: args.minCount,
          evaluationPeriods: 3,
          datapointsToAlarm: 3,
          treatMissingData: 'breaching',
        },
      ),
      ...args.adapterNames.flatMap((adapter) => {
        const dimensions = { [DIMENSION.service]: args.metricsService, [DIMENSION.adapter]: adapter };
        return [
          // One refusal is enough: a revoked or expired key fails every call until it is replaced.
          // No calls, no data: nothing was refused.
          alarm(
            `credentials-rejected-${adapter}`,
            `The upstream of adapter "${adapter}" refused its credentials (401 or 403): the key may be revoked or expired.`,
            'credentials-rejected',
            {
              namespace: METRICS_NAMESPACE,
              metricName: METRIC.upstreamCredentialRejections.name,
              dimensions,
              statistic: 'Sum',
              period: PERIOD_SECONDS,
              comparisonOperator: 'GreaterThanThreshold',
              threshold: 0,
              evaluationPeriods: 1,
              treatMissingData: 'notBreaching',
            },
          ),
          // A gauge of the last value each task saw: the minimum is the lowest any task saw. Without
          // calls (or from an upstream that sends no RateLimit-Remaining) there is no data, and the
          // budget is not being spent, so missing data is not breaching.
          alarm(
            `rate-limit-${adapter}`,
            `The upstream of adapter "${adapter}" answered with RateLimit-Remaining below ${args.rateLimitAlarmBelow}.`,
            'rate-limit',
            {
              namespace: METRICS_NAMESPACE,
              metricName: METRIC.upstreamRateLimitRemaining.name,
              dimensions,
              statistic: 'Minimum',
              period: PERIOD_SECONDS,
              comparisonOperator: 'LessThanThreshold',
              threshold: args.rateLimitAlarmBelow,
              evaluationPeriods: 1,
              treatMissingData: 'notBreaching',
            },
          ),
        ];
      }),
    ];

    const region = aws.getRegionOutput({}, parent).region;
    const dashboardBody = pulumi
      .all([
        region,
        args.loadBalancerArnSuffix,
        args.targetGroupArnSuffix,
        args.clusterName,
        args.serviceName,
        pulumi.all(this.alarms.map((created) => created.arn)),
      ])
      .apply(([awsRegion, loadBalancerSuffix, targetGroupSuffix, clusterName, serviceName, alarmArns]) =>
        buildDashboardBody({
          region: awsRegion,
          metricsService: args.metricsService,
          adapterNames: args.adapterNames,
          loadBalancer: loadBalancerSuffix,
          targetGroup: targetGroupSuffix,
          clusterName,
          serviceName,
          minCount: args.minCount,
          rateLimitAlarmBelow: args.rateLimitAlarmBelow,
          alarmArns,
        }),
      );
    this.dashboard = new aws.cloudwatch.Dashboard(name, { dashboardName: args.label, dashboardBody }, parent);
    this.dashboardUrl = pulumi.interpolate`https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${this.dashboard.dashboardName}`;

    this.registerOutputs({ alarmTopicArn: this.topic.arn, dashboardUrl: this.dashboardUrl });
  }
}

/**
 * `atlas-<stack>`, in the characters a dashboard name allows (letters, digits,
 * `-` and `_`; a stack name may also hold `.`).
 */
export function stackLabel(stack: string): string {
  return `atlas-${stack.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}
