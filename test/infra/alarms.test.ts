import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DIMENSION, METRIC, METRICS_NAMESPACE, SERVICE_VARIABLE } from '@atlas/gateway/metrics';
import { emittedMetrics, metricKey } from '../helpers/emitted-metrics';
import {
  type DeclaredResource,
  type ProgramRun,
  type StackSettings,
  onlyContainer,
  plainEnvironment,
  runProgram,
} from '../helpers/pulumi-program';

const ALARM = 'aws:cloudwatch/metricAlarm:MetricAlarm';
const TOPIC = 'aws:sns/topic:Topic';
const SUBSCRIPTION = 'aws:sns/topicSubscription:TopicSubscription';

function adapter(name: string, baseUrl: string, variable: string) {
  return { name, baseUrl, headers: [{ name: 'Authorization', value: `Bearer \${{ ${variable} }}` }] };
}

/** One adapter and no monitoring keys: every default. */
const defaults: StackSettings = {
  config: { adapters: [adapter('heroku', 'https://api.heroku.com', 'HEROKU_API_KEY')], HEROKU_API_KEY: 'heroku-key-a' },
  secretKeys: ['HEROKU_API_KEY'],
};
/** Two adapters, an email for the alarms, a lower rate-limit threshold and three tasks at least. */
const custom: StackSettings = {
  config: {
    adapters: [
      adapter('heroku', 'https://api.heroku.com', 'HEROKU_API_KEY'),
      adapter('github', 'https://api.github.com', 'GITHUB_TOKEN'),
    ],
    HEROKU_API_KEY: 'heroku-key-b',
    GITHUB_TOKEN: 'github-token-b',
    alarmEmail: 'ops@example.com',
    rateLimitAlarmBelow: 1200,
    desiredCount: 3,
    minCount: 3,
    maxCount: 6,
  },
  secretKeys: ['HEROKU_API_KEY', 'GITHUB_TOKEN'],
};

let runs: { defaults: ProgramRun; custom: ProgramRun };
beforeAll(async () => {
  runs = { defaults: await runProgram(defaults), custom: await runProgram(custom) };
});

/** The alarm whose name ends with `-<suffix>` (names are `atlas-<stack>-<suffix>`). */
function alarm(run: ProgramRun, suffix: string): DeclaredResource {
  const found = run.ofType(ALARM).filter((a) => a.inputs.name === `atlas-test-${suffix}`);
  if (found.length !== 1) throw new Error(`expected one alarm atlas-test-${suffix}, found ${found.length}`);
  return found[0]!;
}
const topicArn = (run: ProgramRun) => run.one(TOPIC).outputs.arn;
const loadBalancer = (run: ProgramRun) => run.one('aws:lb/loadBalancer:LoadBalancer').outputs.arnSuffix;
const targetGroup = (run: ProgramRun) => run.one('aws:lb/targetGroup:TargetGroup').outputs.arnSuffix;
const metricsService = (run: ProgramRun) => plainEnvironment(onlyContainer(run))[SERVICE_VARIABLE];

describe('the alarm topic', () => {
  test.each(['defaults', 'custom'] as const)(
    '(%s) every alarm notifies the one topic, in ALARM and back to OK',
    (stack) => {
      const run = runs[stack];
      const alarms = run.ofType(ALARM);
      expect(alarms.length).toBeGreaterThan(0);
      for (const { inputs } of alarms) {
        expect(inputs.alarmActions).toEqual([topicArn(run)]);
        expect(inputs.okActions).toEqual([topicArn(run)]);
      }
    },
  );

  test('the alarmTopicArn output is the topic', () => {
    expect(runs.defaults.outputs.alarmTopicArn).toBe(topicArn(runs.defaults));
  });

  test('without atlas:alarmEmail, nothing subscribes to it', () => {
    expect(runs.defaults.ofType(SUBSCRIPTION)).toEqual([]);
  });

  test('with atlas:alarmEmail, one email subscription to that address', () => {
    expect(runs.custom.one(SUBSCRIPTION).inputs).toMatchObject({
      topic: topicArn(runs.custom),
      protocol: 'email',
      endpoint: 'ops@example.com',
    });
  });

  test('three alarms for the stack and two for each adapter', () => {
    expect(runs.defaults.ofType(ALARM)).toHaveLength(3 + 2);
    expect(runs.custom.ofType(ALARM)).toHaveLength(3 + 2 * 2);
  });
});

describe('the load balancer and service alarms', () => {
  test('ALB 5xx rate: above 5 % of the answers, the gateway’s and the load balancer’s own 5xx, for 3 minutes in a row', () => {
    const { inputs } = alarm(runs.defaults, 'alb-5xx-rate');
    expect(inputs).toMatchObject({
      comparisonOperator: 'GreaterThanThreshold',
      threshold: 5,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: 'notBreaching',
    });
    expect(inputs.metricName).toBeUndefined();
    const queries = inputs.metricQueries as {
      id: string;
      expression?: string;
      returnData?: boolean;
      metric?: {
        namespace: string;
        metricName: string;
        dimensions: Record<string, string>;
        stat: string;
        period: number;
      };
    }[];
    const metrics = Object.fromEntries(queries.filter((q) => q.metric).map((q) => [q.metric!.metricName, q]));
    expect(Object.keys(metrics).sort()).toEqual([
      'HTTPCode_ELB_5XX_Count',
      'HTTPCode_Target_5XX_Count',
      'RequestCount',
    ]);
    for (const query of Object.values(metrics)) {
      expect(query.metric).toEqual({
        namespace: 'AWS/ApplicationELB',
        metricName: query.metric!.metricName,
        dimensions: { LoadBalancer: loadBalancer(runs.defaults) },
        stat: 'Sum',
        period: 60,
      });
      expect(query.returnData).toBeFalsy();
    }
    const returned = queries.filter((q) => q.returnData);
    expect(returned).toHaveLength(1);
    const expression = returned[0]!.expression!;
    const id = (metricName: string) => metrics[metricName]!.id;
    expect(expression).toBe(
      `100 * (FILL(${id('HTTPCode_Target_5XX_Count')}, 0) + FILL(${id('HTTPCode_ELB_5XX_Count')}, 0)) / (FILL(${id('RequestCount')}, 0) + FILL(${id('HTTPCode_ELB_5XX_Count')}, 0))`,
    );
  });

  test('unhealthy hosts: UnHealthyHostCount of the target group above 0 for 3 minutes', () => {
    expect(alarm(runs.defaults, 'unhealthy-hosts').inputs).toMatchObject({
      namespace: 'AWS/ApplicationELB',
      metricName: 'UnHealthyHostCount',
      dimensions: { TargetGroup: targetGroup(runs.defaults), LoadBalancer: loadBalancer(runs.defaults) },
      statistic: 'Maximum',
      period: 60,
      comparisonOperator: 'GreaterThanThreshold',
      threshold: 0,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: 'notBreaching',
    });
  });

  test.each([
    ['defaults', 2],
    ['custom', 3],
  ] as const)(
    '(%s) running tasks: Container Insights RunningTaskCount below atlas:minCount (%i) for 3 minutes, no data counting as below',
    (stack, minCount) => {
      const run = runs[stack];
      expect(alarm(run, 'running-tasks').inputs).toMatchObject({
        namespace: 'ECS/ContainerInsights',
        metricName: 'RunningTaskCount',
        dimensions: {
          ClusterName: run.one('aws:ecs/cluster:Cluster').outputs.name,
          ServiceName: run.one('aws:ecs/service:Service').outputs.name,
        },
        statistic: 'Maximum',
        period: 60,
        comparisonOperator: 'LessThanThreshold',
        threshold: minCount,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: 'breaching',
      });
    },
  );
});

describe('the alarms on the gateway’s metrics, one of each per adapter', () => {
  const perAdapter = [
    ['defaults', 'heroku', 500],
    ['custom', 'heroku', 1200],
    ['custom', 'github', 1200],
  ] as const;

  test.each(perAdapter)(
    '(%s) %s: any UpstreamCredentialRejections in a minute, no data meaning none',
    (stack, adapterName) => {
      const run = runs[stack];
      expect(alarm(run, `credentials-rejected-${adapterName}`).inputs).toMatchObject({
        namespace: METRICS_NAMESPACE,
        metricName: METRIC.upstreamCredentialRejections.name,
        dimensions: { [DIMENSION.service]: metricsService(run), [DIMENSION.adapter]: adapterName },
        statistic: 'Sum',
        period: 60,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: 0,
        evaluationPeriods: 1,
        treatMissingData: 'notBreaching',
      });
    },
  );

  test.each(perAdapter)(
    '(%s) %s: the lowest UpstreamRateLimitRemaining of a minute below %i, no data meaning no budget spent',
    (stack, adapterName, threshold) => {
      const run = runs[stack];
      expect(alarm(run, `rate-limit-${adapterName}`).inputs).toMatchObject({
        namespace: METRICS_NAMESPACE,
        metricName: METRIC.upstreamRateLimitRemaining.name,
        dimensions: { [DIMENSION.service]: metricsService(run), [DIMENSION.adapter]: adapterName },
        statistic: 'Minimum',
        period: 60,
        comparisonOperator: 'LessThanThreshold',
        threshold,
        evaluationPeriods: 1,
        treatMissingData: 'notBreaching',
      });
    },
  );

  test("each watches a metric the gateway's metrics module writes for this stack: name, dimensions and their values", () => {
    const written = new Set(emittedMetrics(metricsService(runs.custom)!, ['heroku', 'github']).map(metricKey));
    const onGateway = runs.custom.ofType(ALARM).filter((a) => a.inputs.namespace === METRICS_NAMESPACE);
    expect(onGateway.length).toBeGreaterThan(0);
    for (const { inputs } of onGateway) {
      const watched = {
        namespace: String(inputs.namespace),
        metricName: String(inputs.metricName),
        dimensions: inputs.dimensions as Record<string, string>,
      };
      expect(written).toContain(metricKey(watched));
    }
  });

  test('their dimensions are exactly the two the gateway gives these metrics', () => {
    const onGateway = runs.custom.ofType(ALARM).filter((a) => a.inputs.namespace === METRICS_NAMESPACE);
    expect(onGateway).toHaveLength(4);
    for (const { inputs } of onGateway) {
      expect(Object.keys(inputs.dimensions as object).sort()).toEqual([DIMENSION.adapter, DIMENSION.service].sort());
    }
  });

  test('each alarm’s description says what it means and where the fix is', () => {
    for (const { inputs } of runs.custom.ofType(ALARM)) {
      expect(inputs.alarmDescription).toMatch(/ See docs\/operating\.md#[a-z0-9-]+\.$/);
    }
  });
});

describe('Operating Atlas (docs/operating.md)', () => {
  /** The anchors GitHub gives the page's headings. */
  const anchors = () =>
    readFileSync(path.resolve(__dirname, '../../docs/operating.md'), 'utf8')
      .split('\n')
      .filter((line) => /^#{2,4} /.test(line))
      .map((line) =>
        line
          .replace(/^#+ /, '')
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      );

  test('every alarm’s description links to a section of the page that exists', () => {
    const sections = anchors();
    for (const { inputs } of runs.custom.ofType(ALARM)) {
      const anchor = /#([a-z0-9-]+)\.$/.exec(String(inputs.alarmDescription))![1]!;
      expect(sections).toContain(anchor);
    }
  });

  test('the page names every alarm', () => {
    const page = readFileSync(path.resolve(__dirname, '../../docs/operating.md'), 'utf8');
    const names = runs.defaults.ofType(ALARM).map((a) =>
      String(a.inputs.name)
        .replace(/^atlas-test-/, '')
        .replace(/-heroku$/, '-<adapter>'),
    );
    for (const name of names) expect(page).toContain(`\`${name}\``);
  });
});
