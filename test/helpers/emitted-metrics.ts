import { createMetrics } from '../../gateway/src/metrics/metrics';
import type { EmfDocument } from './metrics-formats';

/** One metric as CloudWatch extracts it from an EMF document: namespace, name and dimension values. */
export interface EmittedMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
}

/**
 * The metrics the gateway's own metrics module writes for a minute in which
 * every adapter saw each outcome (2xx to 5xx, a gateway error, an upstream
 * 401 with a `RateLimit-Remaining`): what CloudWatch will hold for a stack.
 */
export function emittedMetrics(service: string, adapters: readonly string[], errorId = 'bad_gateway'): EmittedMetric[] {
  const metrics = createMetrics(service);
  for (const adapter of adapters) {
    for (const status of [200, 304, 404]) metrics.request({ adapter, status, error: undefined });
    metrics.request({ adapter, status: 502, error: errorId });
    metrics.upstream({ adapter, status: 401, latencyMs: 120, rateLimitRemaining: 4321 });
  }
  return metrics.takeEmfDocuments(1_800_000_000_000).flatMap((line) => {
    const document = JSON.parse(line) as EmfDocument;
    return document._aws.CloudWatchMetrics.flatMap((directive) =>
      directive.Dimensions.flatMap((dimensionSet) =>
        directive.Metrics.map((metric) => ({
          namespace: directive.Namespace,
          metricName: metric.Name,
          dimensions: Object.fromEntries(dimensionSet.map((name) => [name, String(document[name])])),
        })),
      ),
    );
  });
}

/** A key that compares metrics by namespace, name and dimensions, whatever the order of the dimensions. */
export function metricKey(metric: EmittedMetric): string {
  const dimensions = Object.entries(metric.dimensions).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([metric.namespace, metric.metricName, dimensions]);
}
