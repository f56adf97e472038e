import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Metrics } from './metrics';

/** Upper bounds of the latency buckets, in seconds. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The same figures as the EMF documents, as Prometheus metrics (cumulative
 * since start-up), for the admin listener's `GET /metrics`. prom-client
 * loads only when that listener is on.
 */
export function createPrometheusRegistry(metrics: Metrics): Registry {
  const registry = new Registry();
  const requests = new Counter({
    name: 'atlas_requests_total',
    help: 'Requests routed to an adapter, by the class of the status sent (499: the caller went away, a 4xx).',
    labelNames: ['adapter', 'status_class'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'atlas_gateway_errors_total',
    help: "Requests the gateway itself answered or aborted with an error, by the error's id.",
    labelNames: ['adapter', 'error'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'atlas_upstream_latency_seconds',
    help: "From sending a request upstream to the upstream's response headers.",
    labelNames: ['adapter'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const rejections = new Counter({
    name: 'atlas_upstream_credential_rejections_total',
    help: "Upstream answers 401 or 403 of the upstream's own: the adapter's credentials were refused.",
    labelNames: ['adapter'],
    registers: [registry],
  });
  const rateLimitRemaining = new Gauge({
    name: 'atlas_upstream_ratelimit_remaining',
    help: 'The last RateLimit-Remaining an upstream answered with.',
    labelNames: ['adapter'],
    registers: [registry],
  });

  metrics.subscribe({
    request({ adapter, status, error }) {
      requests.inc({ adapter, status_class: `${Math.floor(status / 100)}xx` });
      if (error !== undefined) errors.inc({ adapter, error });
    },
    upstream({ adapter, status, latencyMs, rateLimitRemaining: remaining }) {
      latency.observe({ adapter }, latencyMs / 1000);
      if (status === 401 || status === 403) rejections.inc({ adapter });
      if (remaining !== undefined) rateLimitRemaining.set({ adapter }, remaining);
    },
  });
  return registry;
}
