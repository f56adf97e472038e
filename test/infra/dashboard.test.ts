import { DIMENSION, METRIC, METRICS_NAMESPACE, SERVICE_VARIABLE } from '@atlas/gateway/metrics';
import { readSettings } from '../../gateway/src/settings';
import { emittedMetrics, metricKey } from '../helpers/emitted-metrics';
import {
  type ProgramRun,
  type StackSettings,
  onlyContainer,
  plainEnvironment,
  processEnvironment,
  runProgram,
} from '../helpers/pulumi-program';

const HEROKU_API_KEY = 'heroku-key-for-dashboard-tests';
const GITHUB_TOKEN = 'github-token-for-dashboard-tests';
const ADAPTERS = ['heroku', 'github'];
const stack: StackSettings = {
  config: {
    adapters: [
      {
        name: 'heroku',
        baseUrl: 'https://api.heroku.com',
        headers: [{ name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' }],
      },
      {
        name: 'github',
        baseUrl: 'https://api.github.com',
        headers: [{ name: 'Authorization', value: 'Bearer ${{ GITHUB_TOKEN }}' }],
      },
    ],
    HEROKU_API_KEY,
    GITHUB_TOKEN,
    desiredCount: 3,
    minCount: 3,
    rateLimitAlarmBelow: 900,
  },
  secretKeys: ['HEROKU_API_KEY', 'GITHUB_TOKEN'],
  stack: 'prod.eu',
};

/** One line of a metric widget, read back from CloudWatch's array form. */
interface MetricLine {
  readonly widget: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
  readonly stat: string | undefined;
}
interface Widget {
  type: string;
  x: number;
  y: number;
  width: number;
  height: number;
  properties: Record<string, unknown> & { title?: string; metrics?: unknown[]; region?: string; stat?: string };
}

function dashboardBody(run: ProgramRun): { widgets: Widget[] } {
  return JSON.parse(String(run.one('aws:cloudwatch/dashboard:Dashboard').inputs.dashboardBody)) as {
    widgets: Widget[];
  };
}

/** `[namespace, name, dim, value, ..., { stat }]`, the only form the dashboard writes (no "." shorthand). */
function metricLines(run: ProgramRun): MetricLine[] {
  return dashboardBody(run).widgets.flatMap((widget) =>
    (widget.properties.metrics ?? [])
      .filter((line): line is unknown[] => Array.isArray(line))
      .map((line) => {
        const options = typeof line.at(-1) === 'object' ? (line.pop() as { stat?: string }) : {};
        const [namespace, metricName, ...pairs] = line as string[];
        expect(pairs.length % 2).toBe(0);
        expect(line).not.toContain('.');
        const dimensions: Record<string, string> = {};
        for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i]!] = pairs[i + 1]!;
        return {
          widget: widget.properties.title ?? '',
          namespace: namespace!,
          metricName: metricName!,
          dimensions,
          stat: options.stat ?? widget.properties.stat,
        };
      }),
  );
}

/** The math expressions of the dashboard (`{ expression, id }` entries of a metrics array). */
function expressions(run: ProgramRun): string[] {
  return dashboardBody(run).widgets.flatMap((widget) =>
    (widget.properties.metrics ?? [])
      .filter((line): line is { expression: string } => !Array.isArray(line))
      .map((line) => line.expression),
  );
}

let run: ProgramRun;
let service: string;
beforeAll(async () => {
  run = await runProgram(stack);
  service = plainEnvironment(onlyContainer(run))[SERVICE_VARIABLE]!;
});

describe('the Service dimension', () => {
  test('the task definition sets ATLAS_METRICS_SERVICE to atlas-<stack> (in the characters a dashboard name allows)', () => {
    expect(service).toBe('atlas-prod-eu');
    expect(run.one('aws:cloudwatch/dashboard:Dashboard').inputs.dashboardName).toBe(service);
  });

  test('the gateway takes it, from the environment ECS gives the task, as the Service of its metrics', () => {
    expect(readSettings(processEnvironment(run)).metrics.service).toBe(service);
  });

  test('ATLAS_METRICS_SERVICE is a plain setting: not an ECS secret, and no secret value in the environment', () => {
    const container = onlyContainer(run);
    expect((container.secrets ?? []).map(({ name }) => name)).not.toContain(SERVICE_VARIABLE);
    const environment = JSON.stringify(container.environment);
    for (const secret of [HEROKU_API_KEY, GITHUB_TOKEN]) expect(environment).not.toContain(secret);
  });

  test('without a stack name of its own, the value follows the stack: atlas-test', async () => {
    const other = await runProgram({ ...stack, stack: undefined });
    expect(plainEnvironment(onlyContainer(other))[SERVICE_VARIABLE]).toBe('atlas-test');
  });
});

describe("the dashboard's gateway metrics are the ones the gateway emits", () => {
  const EMITTED = new Set<string>(Object.values(METRIC).map((metric) => metric.name));

  test('every Atlas metric has a name of the metrics module, dimensions Service and Adapter, this stack’s Service and an adapter of the stack config', () => {
    const atlas = metricLines(run).filter((line) => line.namespace === METRICS_NAMESPACE);
    expect(atlas.length).toBeGreaterThan(0);
    for (const line of atlas) {
      expect(EMITTED).toContain(line.metricName);
      expect(Object.keys(line.dimensions).sort()).toEqual([DIMENSION.adapter, DIMENSION.service].sort());
      expect(line.dimensions[DIMENSION.service]).toBe(service);
      expect(ADAPTERS).toContain(line.dimensions[DIMENSION.adapter]);
    }
  });

  test("every Atlas metric drawn is one the gateway's metrics module writes for this stack: name, dimensions and their values", () => {
    const written = new Set(emittedMetrics(service, ADAPTERS).map(metricKey));
    const drawn = metricLines(run).filter((line) => line.namespace === METRICS_NAMESPACE);
    expect(drawn.filter((line) => !written.has(metricKey(line)))).toEqual([]);
  });

  test('no other namespace carries a gateway metric name', () => {
    const elsewhere = metricLines(run).filter((line) => line.namespace !== METRICS_NAMESPACE);
    expect(elsewhere.filter((line) => EMITTED.has(line.metricName))).toEqual([]);
  });

  // Percentiles need the metric's own values; a UpstreamRateLimitRemaining gauge is read at its lowest.
  test.each([
    [METRIC.requests.name, 'Sum'],
    [METRIC.requests4xx.name, 'Sum'],
    [METRIC.requests5xx.name, 'Sum'],
    [METRIC.upstreamLatency.name, 'p50'],
    [METRIC.upstreamLatency.name, 'p99'],
    [METRIC.upstreamRateLimitRemaining.name, 'Minimum'],
    [METRIC.upstreamCredentialRejections.name, 'Sum'],
  ])('%s (%s) is drawn for each adapter of atlas:adapters', (metricName, stat) => {
    const drawn = metricLines(run)
      .filter((line) => line.namespace === METRICS_NAMESPACE && line.metricName === metricName && line.stat === stat)
      .map((line) => line.dimensions[DIMENSION.adapter]);
    expect(drawn.sort()).toEqual([...ADAPTERS].sort());
  });

  test('GatewayErrors: one SEARCH over the Error values, with the three dimensions the gateway gives it and this Service', () => {
    const searches = expressions(run).filter((expression) => expression.startsWith('SEARCH('));
    expect(searches).toHaveLength(1);
    const match = /^SEARCH\('\{([^}]+)\} MetricName="([^"]+)" (\w+)="([^"]+)"'\s*,\s*'(\w+)'\s*,\s*(\d+)\)$/.exec(
      searches[0]!,
    );
    expect(match).not.toBeNull();
    const [, schema, metricName, dimension, value, stat] = match!;
    const [namespace, ...dimensions] = schema!.split(',');
    expect(namespace).toBe(METRICS_NAMESPACE);
    expect(dimensions.sort()).toEqual([DIMENSION.service, DIMENSION.adapter, DIMENSION.error].sort());
    expect(metricName).toBe(METRIC.gatewayErrors.name);
    expect([dimension, value]).toEqual([DIMENSION.service, service]);
    expect(stat).toBe('Sum');
    // The gateway writes GatewayErrors with exactly these dimensions, one Error value per error id.
    const written = emittedMetrics(service, ADAPTERS).filter((metric) => metric.metricName === metricName);
    expect(written.length).toBeGreaterThan(0);
    for (const metric of written) {
      expect(Object.keys(metric.dimensions).sort()).toEqual(dimensions.sort());
      expect(metric.dimensions[DIMENSION.service]).toBe(service);
    }
  });

  test('the RateLimit-Remaining graph marks atlas:rateLimitAlarmBelow', () => {
    const widget = dashboardBody(run).widgets.find((w) => w.properties.title?.includes('RateLimit-Remaining'));
    expect(widget?.properties.annotations).toEqual({
      horizontal: [expect.objectContaining({ value: 900 })],
    });
  });
});

describe("the dashboard's AWS metrics are those of the declared load balancer and service", () => {
  const loadBalancer = () => run.one('aws:lb/loadBalancer:LoadBalancer').outputs.arnSuffix;
  const targetGroup = () => run.one('aws:lb/targetGroup:TargetGroup').outputs.arnSuffix;

  test.each([
    ['RequestCount', 'Sum'],
    ['HTTPCode_Target_4XX_Count', 'Sum'],
    ['HTTPCode_Target_5XX_Count', 'Sum'],
    ['HTTPCode_ELB_4XX_Count', 'Sum'],
    ['HTTPCode_ELB_5XX_Count', 'Sum'],
    ['TargetResponseTime', 'p50'],
    ['TargetResponseTime', 'p99'],
  ])('AWS/ApplicationELB %s (%s) of the load balancer (LoadBalancer = its arnSuffix)', (metricName, stat) => {
    const lines = metricLines(run).filter((line) => line.metricName === metricName && line.stat === stat);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ namespace: 'AWS/ApplicationELB', dimensions: { LoadBalancer: loadBalancer() } });
  });

  // Host counts exist only per target group (and its load balancer).
  test.each(['HealthyHostCount', 'UnHealthyHostCount'])(
    'AWS/ApplicationELB %s of the target group, with TargetGroup and LoadBalancer',
    (metricName) => {
      const lines = metricLines(run).filter((line) => line.metricName === metricName);
      expect(lines).toHaveLength(1);
      expect(lines[0]!.namespace).toBe('AWS/ApplicationELB');
      expect(lines[0]!.dimensions).toEqual({ TargetGroup: targetGroup(), LoadBalancer: loadBalancer() });
    },
  );

  test.each([
    ['AWS/ECS', 'CPUUtilization'],
    ['AWS/ECS', 'MemoryUtilization'],
    ['ECS/ContainerInsights', 'RunningTaskCount'],
  ])('%s %s of the declared cluster and service', (namespace, metricName) => {
    const lines = metricLines(run).filter((line) => line.metricName === metricName);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.namespace).toBe(namespace);
    expect(lines[0]!.dimensions).toEqual({
      ClusterName: run.one('aws:ecs/cluster:Cluster').outputs.name,
      ServiceName: run.one('aws:ecs/service:Service').outputs.name,
    });
  });

  test('Container Insights, which RunningTaskCount comes from, is enabled on the cluster', () => {
    expect(run.one('aws:ecs/cluster:Cluster').inputs.settings).toContainEqual({
      name: 'containerInsights',
      value: 'enabled',
    });
  });
});

describe('the dashboard', () => {
  test('every metric widget reads the stack’s region; widgets fit the 24-column grid without overlapping', () => {
    const { widgets } = dashboardBody(run);
    const cells = new Set<string>();
    for (const widget of widgets) {
      if (widget.type === 'metric') expect(widget.properties.region).toBe('us-east-1');
      expect(widget.x + widget.width).toBeLessThanOrEqual(24);
      for (let x = widget.x; x < widget.x + widget.width; x++) {
        for (let y = widget.y; y < widget.y + widget.height; y++) {
          expect(cells.has(`${x},${y}`)).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  test('its alarm widget shows every alarm of the stack', () => {
    const widget = dashboardBody(run).widgets.find((w) => w.type === 'alarm');
    const arns = run.ofType('aws:cloudwatch/metricAlarm:MetricAlarm').map((alarm) => String(alarm.outputs.arn));
    expect(arns.length).toBeGreaterThan(0);
    expect([...(widget?.properties.alarms as string[])].sort()).toEqual(arns.sort());
  });

  test('the dashboardUrl output opens it in the CloudWatch console of the stack’s region', () => {
    expect(run.outputs.dashboardUrl).toBe(
      'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=atlas-prod-eu',
    );
  });
});
