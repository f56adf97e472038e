import { DIMENSION, METRIC, METRICS_NAMESPACE } from '@atlas/gateway/metrics';

/** What the dashboard shows, once every output it depends on is known. */
export interface DashboardValues {
  readonly region: string;
  /** The `Service` dimension's value: the task definition's ATLAS_METRICS_SERVICE. */
  readonly metricsService: string;
  readonly adapterNames: readonly string[];
  /** `app/<name>/<id>`: the ALB metrics' `LoadBalancer` dimension. */
  readonly loadBalancer: string;
  /** `targetgroup/<name>/<id>`: the ALB metrics' `TargetGroup` dimension. */
  readonly targetGroup: string;
  readonly clusterName: string;
  readonly serviceName: string;
  readonly minCount: number;
  readonly rateLimitAlarmBelow: number;
  readonly alarmArns: readonly string[];
}

/** One line of a metric widget: namespace, metric name, dimension name/value pairs, then its rendering. */
type MetricLine = (string | Record<string, unknown>)[];

const PERIOD_SECONDS = 60;
const FULL = 24;
const HALF = 12;
const HEIGHT = 6;
const ALARMS_HEIGHT = 4;

/**
 * The dashboard body (CloudWatch's JSON format): the load balancer, the ECS
 * service, then the gateway's own figures, one line per adapter. Every
 * `Atlas` metric is named from the gateway's metrics module, with the same
 * dimensions it emits them with.
 */
export function buildDashboardBody(values: DashboardValues): string {
  const { region } = values;
  const alb = (metric: string, stat: string, label: string): MetricLine => [
    'AWS/ApplicationELB',
    metric,
    'LoadBalancer',
    values.loadBalancer,
    { stat, label },
  ];
  const targets = (metric: string, label: string): MetricLine => [
    'AWS/ApplicationELB',
    metric,
    'TargetGroup',
    values.targetGroup,
    'LoadBalancer',
    values.loadBalancer,
    { stat: 'Maximum', label },
  ];
  const ecs = (namespace: string, metric: string, stat: string, label: string): MetricLine => [
    namespace,
    metric,
    'ClusterName',
    values.clusterName,
    'ServiceName',
    values.serviceName,
    { stat, label },
  ];
  const gateway = (metric: string, stat: string, label: (adapter: string) => string): MetricLine[] =>
    values.adapterNames.map((adapter) => [
      METRICS_NAMESPACE,
      metric,
      DIMENSION.service,
      values.metricsService,
      DIMENSION.adapter,
      adapter,
      { stat, label: label(adapter) },
    ]);
  // Error ids are the gateway's to add to: a search finds each one the gateway has emitted.
  const gatewayErrors = {
    expression: `SEARCH('{${METRICS_NAMESPACE},${DIMENSION.service},${DIMENSION.adapter},${DIMENSION.error}} MetricName="${METRIC.gatewayErrors.name}" ${DIMENSION.service}="${values.metricsService}"', 'Sum', ${PERIOD_SECONDS})`,
    id: 'gatewayErrors',
  };

  const graph = (title: string, metrics: unknown[], extra: Record<string, unknown> = {}) => ({
    type: 'metric',
    properties: { title, region, view: 'timeSeries', stacked: false, period: PERIOD_SECONDS, metrics, ...extra },
  });
  const widgets: { type: string; width?: number; height?: number; properties: Record<string, unknown> }[] = [
    {
      type: 'alarm',
      width: FULL,
      height: ALARMS_HEIGHT,
      properties: { title: 'Alarms', alarms: [...values.alarmArns], sortBy: 'stateUpdatedTimestamp' },
    },
    graph('Load balancer: requests', [alb('RequestCount', 'Sum', 'requests')]),
    graph('Load balancer: 4xx and 5xx', [
      alb('HTTPCode_Target_4XX_Count', 'Sum', 'gateway 4xx'),
      alb('HTTPCode_Target_5XX_Count', 'Sum', 'gateway 5xx'),
      alb('HTTPCode_ELB_4XX_Count', 'Sum', 'load balancer 4xx'),
      alb('HTTPCode_ELB_5XX_Count', 'Sum', 'load balancer 5xx'),
    ]),
    graph('Load balancer: target response time (seconds)', [
      alb('TargetResponseTime', 'p50', 'p50'),
      alb('TargetResponseTime', 'p99', 'p99'),
    ]),
    graph('Load balancer: healthy and unhealthy tasks', [
      targets('HealthyHostCount', 'healthy'),
      targets('UnHealthyHostCount', 'unhealthy'),
    ]),
    graph(
      'ECS: CPU and memory (%)',
      [ecs('AWS/ECS', 'CPUUtilization', 'Average', 'CPU'), ecs('AWS/ECS', 'MemoryUtilization', 'Average', 'memory')],
      { yAxis: { left: { min: 0, max: 100 } } },
    ),
    graph('ECS: running tasks', [ecs('ECS/ContainerInsights', 'RunningTaskCount', 'Maximum', 'running')], {
      annotations: { horizontal: [{ label: 'atlas:minCount', value: values.minCount }] },
    }),
    graph(
      'Gateway: requests by adapter',
      gateway(METRIC.requests.name, 'Sum', (adapter) => adapter),
    ),
    graph('Gateway: errors by adapter', [
      ...gateway(METRIC.requests4xx.name, 'Sum', (adapter) => `${adapter} 4xx`),
      ...gateway(METRIC.requests5xx.name, 'Sum', (adapter) => `${adapter} 5xx`),
      gatewayErrors,
    ]),
    graph('Gateway: upstream latency (ms)', [
      ...gateway(METRIC.upstreamLatency.name, 'p50', (adapter) => `${adapter} p50`),
      ...gateway(METRIC.upstreamLatency.name, 'p99', (adapter) => `${adapter} p99`),
    ]),
    graph(
      'Gateway: upstream RateLimit-Remaining',
      gateway(METRIC.upstreamRateLimitRemaining.name, 'Minimum', (adapter) => adapter),
      { annotations: { horizontal: [{ label: 'atlas:rateLimitAlarmBelow', value: values.rateLimitAlarmBelow }] } },
    ),
    graph(
      'Gateway: upstream credential rejections',
      gateway(METRIC.upstreamCredentialRejections.name, 'Sum', (adapter) => adapter),
    ),
  ];

  // Two graphs a row, left to right, top to bottom; a full-width widget takes a row of its own.
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const placed = widgets.map((widget) => {
    const width = widget.width ?? HALF;
    const height = widget.height ?? HEIGHT;
    if (x + width > FULL) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const position = { x, y, width, height };
    x += width;
    rowHeight = Math.max(rowHeight, height);
    return { ...widget, ...position };
  });
  return JSON.stringify({ start: '-PT3H', periodOverride: 'inherit', widgets: placed });
}
