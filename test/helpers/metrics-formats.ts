/**
 * Checks for the two formats the gateway's metrics come in: CloudWatch
 * Embedded Metric Format documents and the Prometheus text format.
 */

export interface EmfDocument {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit?: string }[];
    }[];
  };
  readonly [member: string]: unknown;
}

const UNITS = new Set([
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
]);

/**
 * What makes `document` invalid under the EMF specification (an empty list
 * when it is valid): `_aws` with a millisecond `Timestamp` and
 * `CloudWatchMetrics` directives, each with a `Namespace`, dimension sets of
 * at most 30 names whose values are strings at the top level, and metric
 * definitions whose values are at the top level: a number, an array of at
 * most 100 numbers, or a value/count histogram.
 */
export function validateEmfDocument(document: EmfDocument): string[] {
  const problems: string[] = [];
  const aws = document._aws as EmfDocument['_aws'] | undefined;
  if (typeof aws !== 'object' || aws === null) return ['no _aws object'];
  if (!Number.isInteger(aws.Timestamp) || aws.Timestamp < 1e12)
    problems.push('_aws.Timestamp is not epoch milliseconds');
  if (!Array.isArray(aws.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0) {
    return [...problems, '_aws.CloudWatchMetrics is not a non-empty array'];
  }
  for (const directive of aws.CloudWatchMetrics) {
    if (typeof directive.Namespace !== 'string' || !/^[^:].{0,254}$/.test(directive.Namespace)) {
      problems.push('a directive has no valid Namespace');
    }
    if (!Array.isArray(directive.Dimensions)) problems.push('Dimensions is not an array');
    for (const set of directive.Dimensions ?? []) {
      if (!Array.isArray(set) || set.length > 30) problems.push('a dimension set is not an array of at most 30 names');
      for (const name of set) {
        if (typeof document[name] !== 'string') problems.push(`dimension ${name} has no string value at the top level`);
      }
    }
    if (!Array.isArray(directive.Metrics) || directive.Metrics.length > 100) {
      problems.push('Metrics is not an array of at most 100 definitions');
    }
    for (const { Name, Unit } of directive.Metrics ?? []) {
      if (typeof Name !== 'string' || Name.length === 0 || Name.length > 1024) problems.push('a metric has no Name');
      if (Unit !== undefined && !UNITS.has(Unit)) problems.push(`metric ${Name} has unit ${Unit}`);
      const problem = describeMetricValue(document[Name]);
      if (problem !== undefined) problems.push(`metric ${Name}: ${problem}`);
    }
  }
  return problems;
}

function describeMetricValue(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'not a finite number';
  if (Array.isArray(value)) {
    return value.length <= 100 && value.every((item) => typeof item === 'number') ? undefined : 'not up to 100 numbers';
  }
  if (typeof value === 'object' && value !== null) {
    const { Values, Counts, Max, Min, Count, Sum } = value as Record<string, unknown>;
    if (!Array.isArray(Values) || !Array.isArray(Counts) || Values.length !== Counts.length || Values.length > 100) {
      return 'Values and Counts are not arrays of the same length, at most 100';
    }
    if (![Max, Min, Count, Sum].every((stat) => typeof stat === 'number'))
      return 'Max, Min, Count and Sum are not numbers';
    const total = (Counts as number[]).reduce((sum, count) => sum + count, 0);
    if (total !== Count) return `Counts add up to ${total}, not Count ${String(Count)}`;
    return undefined;
  }
  return 'missing at the top level';
}

export interface PrometheusSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;

/**
 * Parses the Prometheus text exposition format (0.0.4), throwing on any
 * line that is neither a comment (`# HELP`, `# TYPE`) nor a sample.
 */
export function parsePrometheusText(text: string): {
  samples: PrometheusSample[];
  sum(name: string, labels?: Record<string, string>): number;
} {
  const samples: PrometheusSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      if (line.startsWith('# TYPE') && !/^# TYPE \S+ (counter|gauge|histogram|summary|untyped)$/.test(line)) {
        throw new Error(`bad TYPE line: ${line}`);
      }
      continue;
    }
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    const rawLabels = match[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < rawLabels.length) {
      const label = LABEL.exec(rawLabels);
      if (label === null) throw new Error(`bad labels in: ${line}`);
      labels[label[1]!] = label[2]!;
    }
    const value = Number(match[3]);
    if (Number.isNaN(value) && match[3] !== 'NaN') throw new Error(`bad value in: ${line}`);
    samples.push({ name: match[1]!, labels, value });
  }
  return {
    samples,
    sum: (name, wanted = {}) =>
      samples
        .filter(
          (sample) =>
            sample.name === name && Object.entries(wanted).every(([key, value]) => sample.labels[key] === value),
        )
        .reduce((total, sample) => total + sample.value, 0),
  };
}
