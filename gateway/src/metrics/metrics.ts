import { DIMENSION, METRIC, METRICS_NAMESPACE } from './names';

/**
 * Figures about the gateway, collected in one place and exported in two
 * formats: CloudWatch Embedded Metric Format documents, one set per interval
 * (see `takeEmfDocuments`), and a cumulative view for Prometheus (see
 * prometheus.ts, which reads `Metrics.subscribe`).
 */

/** What one finished request of an adapter tells the metrics. */
export interface RequestOutcome {
  readonly adapter: string;
  /** The status sent (499: the caller went away). */
  readonly status: number;
  /** The gateway's own error id, when the gateway answered or aborted with one. */
  readonly error: string | undefined;
}

/** What one upstream response head tells the metrics. */
export interface UpstreamAnswer {
  readonly adapter: string;
  readonly status: number;
  /** From sending the request to the response head. */
  readonly latencyMs: number;
  /** The upstream's `RateLimit-Remaining`, when it sent a number. */
  readonly rateLimitRemaining: number | undefined;
}

export interface MetricsListener {
  request(outcome: RequestOutcome): void;
  upstream(answer: UpstreamAnswer): void;
}

export interface Metrics extends MetricsListener {
  /** The EMF documents for everything recorded since the last call, one line each; resets the interval. */
  takeEmfDocuments(timestamp?: number): string[];
  /** Also tells `listener` every request and upstream answer (the Prometheus exporter). */
  subscribe(listener: MetricsListener): void;
}

interface AdapterInterval {
  requests: number;
  byClass: [number, number, number, number];
  errors: Map<string, number>;
  /** Latency bucket (ms, rounded) to count. */
  latency: Map<number, number>;
  latencyMin: number;
  latencyMax: number;
  latencySum: number;
  latencyCount: number;
  credentialRejections: number;
  rateLimitRemaining: number | undefined;
}

/** EMF allows at most 100 values per metric in one document. */
const MAX_VALUES_PER_DOCUMENT = 100;

const STATUS_CLASS_METRICS = [METRIC.requests2xx, METRIC.requests3xx, METRIC.requests4xx, METRIC.requests5xx];

export function createMetrics(service: string): Metrics {
  let intervals = new Map<string, AdapterInterval>();
  const listeners: MetricsListener[] = [];

  function intervalOf(adapter: string): AdapterInterval {
    let interval = intervals.get(adapter);
    if (interval === undefined) {
      interval = {
        requests: 0,
        byClass: [0, 0, 0, 0],
        errors: new Map(),
        latency: new Map(),
        latencyMin: Infinity,
        latencyMax: 0,
        latencySum: 0,
        latencyCount: 0,
        credentialRejections: 0,
        rateLimitRemaining: undefined,
      };
      intervals.set(adapter, interval);
    }
    return interval;
  }

  return {
    request(outcome) {
      const interval = intervalOf(outcome.adapter);
      interval.requests += 1;
      const statusClass = Math.floor(outcome.status / 100) - 2;
      // 499 (the caller went away) counts as a 4xx, as it does in the logs.
      if (statusClass >= 0 && statusClass <= 3) interval.byClass[statusClass as 0 | 1 | 2 | 3] += 1;
      if (outcome.error !== undefined)
        interval.errors.set(outcome.error, (interval.errors.get(outcome.error) ?? 0) + 1);
      for (const listener of listeners) listener.request(outcome);
    },
    upstream(answer) {
      const interval = intervalOf(answer.adapter);
      const bucket = latencyBucket(answer.latencyMs);
      interval.latency.set(bucket, (interval.latency.get(bucket) ?? 0) + 1);
      interval.latencyMin = Math.min(interval.latencyMin, answer.latencyMs);
      interval.latencyMax = Math.max(interval.latencyMax, answer.latencyMs);
      interval.latencySum += answer.latencyMs;
      interval.latencyCount += 1;
      if (answer.status === 401 || answer.status === 403) interval.credentialRejections += 1;
      if (answer.rateLimitRemaining !== undefined) interval.rateLimitRemaining = answer.rateLimitRemaining;
      for (const listener of listeners) listener.upstream(answer);
    },
    takeEmfDocuments(timestamp = Date.now()) {
      const taken = intervals;
      intervals = new Map();
      return [...taken].flatMap(([adapter, interval]) => toEmfDocuments(service, adapter, interval, timestamp));
    },
    subscribe(listener) {
      listeners.push(listener);
    },
  };
}

/**
 * Latencies are grouped into buckets about 4 % wide (two significant digits
 * and a half), so a minute of traffic fits in a few dozen value/count pairs
 * while CloudWatch's percentiles stay within a few per cent.
 */
export function latencyBucket(ms: number): number {
  if (ms <= 0) return 0;
  const magnitude = 10 ** (Math.floor(Math.log10(ms)) - 1);
  const step = magnitude * (ms / magnitude < 50 ? 1 : 2);
  return Math.round(Math.round(ms / step) * step * 1000) / 1000;
}

function toEmfDocuments(service: string, adapter: string, interval: AdapterInterval, timestamp: number): string[] {
  const dimensions = { [DIMENSION.service]: service, [DIMENSION.adapter]: adapter };
  const counts: Record<string, number> = { [METRIC.requests.name]: interval.requests };
  STATUS_CLASS_METRICS.forEach((metric, index) => (counts[metric.name] = interval.byClass[index]!));
  counts[METRIC.upstreamCredentialRejections.name] = interval.credentialRejections;
  const definitions: { Name: string; Unit: string }[] = [
    METRIC.requests,
    ...STATUS_CLASS_METRICS,
    METRIC.upstreamCredentialRejections,
  ].map(({ name, unit }) => ({ Name: name, Unit: unit }));
  const gauges: Record<string, number> = {};
  if (interval.rateLimitRemaining !== undefined) {
    gauges[METRIC.upstreamRateLimitRemaining.name] = interval.rateLimitRemaining;
    definitions.push({ Name: METRIC.upstreamRateLimitRemaining.name, Unit: METRIC.upstreamRateLimitRemaining.unit });
  }

  // The latency histogram: value/count pairs, at most 100 per document.
  const pairs = [...interval.latency].sort(([a], [b]) => a - b);
  const latencyChunks: [number, number][][] = [];
  for (let at = 0; at < pairs.length; at += MAX_VALUES_PER_DOCUMENT) {
    latencyChunks.push(pairs.slice(at, at + MAX_VALUES_PER_DOCUMENT));
  }

  const documents = [
    emfDocument(timestamp, [[DIMENSION.service, DIMENSION.adapter]], dimensions, definitions, {
      ...counts,
      ...gauges,
      ...latencyMember(latencyChunks[0], interval, latencyChunks.length === 1),
    }),
  ];
  // Further latency chunks (more than 100 distinct buckets in one interval) go in documents of their own.
  for (const chunk of latencyChunks.slice(1)) {
    documents.push(
      emfDocument(
        timestamp,
        [[DIMENSION.service, DIMENSION.adapter]],
        dimensions,
        [],
        latencyMember(chunk, interval, false),
      ),
    );
  }
  for (const [error, count] of interval.errors) {
    documents.push(
      emfDocument(
        timestamp,
        [[DIMENSION.service, DIMENSION.adapter, DIMENSION.error]],
        { ...dimensions, [DIMENSION.error]: error },
        [{ Name: METRIC.gatewayErrors.name, Unit: METRIC.gatewayErrors.unit }],
        { [METRIC.gatewayErrors.name]: count },
      ),
    );
  }
  return documents;
}

/**
 * The latency member of a document (its definition is added by
 * `emfDocument`): Values and Counts, with Max, Min, Count and Sum. With one
 * chunk (the usual case) the statistics are the interval's exact ones; when
 * the buckets span several documents, each chunk's come from its buckets.
 */
function latencyMember(
  chunk: [number, number][] | undefined,
  interval: AdapterInterval,
  exact: boolean,
): Record<string, unknown> {
  if (chunk === undefined) return {};
  const values = chunk.map(([value]) => value);
  const counts = chunk.map(([, count]) => count);
  const stats = exact
    ? {
        Max: round(interval.latencyMax),
        Min: round(interval.latencyMin),
        Count: interval.latencyCount,
        Sum: round(interval.latencySum),
      }
    : {
        Max: values.at(-1)!,
        Min: values[0]!,
        Count: counts.reduce((sum, count) => sum + count, 0),
        Sum: round(chunk.reduce((sum, [value, count]) => sum + value * count, 0)),
      };
  return { [METRIC.upstreamLatency.name]: { Values: values, Counts: counts, ...stats } };
}

function emfDocument(
  timestamp: number,
  dimensionSets: string[][],
  dimensions: Record<string, string>,
  definitions: { Name: string; Unit: string }[],
  values: Record<string, unknown>,
): string {
  const metrics =
    METRIC.upstreamLatency.name in values
      ? [...definitions, { Name: METRIC.upstreamLatency.name, Unit: METRIC.upstreamLatency.unit }]
      : definitions;
  return JSON.stringify({
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: dimensionSets, Metrics: metrics }],
    },
    ...dimensions,
    ...values,
  });
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
