/**
 * The gateway's metrics, as CloudWatch and Prometheus see them: written once,
 * read by the gateway (which emits them) and by the Pulumi program (whose
 * dashboard and alarms use them), so the two cannot drift apart.
 */

/** The CloudWatch namespace of every metric. */
export const METRICS_NAMESPACE = 'Atlas';

/** Dimension names. Every metric has `Service` and `Adapter`; `GatewayErrors` also has `Error`. */
export const DIMENSION = {
  service: 'Service',
  adapter: 'Adapter',
  error: 'Error',
} as const;

/** The environment variable naming the `Service` dimension's value (the Pulumi program sets it per stack). */
export const SERVICE_VARIABLE = 'ATLAS_METRICS_SERVICE';
export const DEFAULT_SERVICE = 'atlas-gateway';

/** Metric names, with their CloudWatch unit. */
export const METRIC = {
  /** Requests routed to the adapter, whatever their outcome. */
  requests: { name: 'Requests', unit: 'Count' },
  /** Responses by status class: 2xx, 3xx, 4xx and 5xx (the gateway's own errors included). */
  requests2xx: { name: 'Requests2xx', unit: 'Count' },
  requests3xx: { name: 'Requests3xx', unit: 'Count' },
  requests4xx: { name: 'Requests4xx', unit: 'Count' },
  requests5xx: { name: 'Requests5xx', unit: 'Count' },
  /** Errors the gateway itself answered or aborted with, by error id (dimension `Error`). */
  gatewayErrors: { name: 'GatewayErrors', unit: 'Count' },
  /** From sending the request upstream to the upstream's response headers. */
  upstreamLatency: { name: 'UpstreamLatency', unit: 'Milliseconds' },
  /** Upstream answers 401 or 403 of its own: the adapter's credentials were refused. */
  upstreamCredentialRejections: { name: 'UpstreamCredentialRejections', unit: 'Count' },
  /** The last `RateLimit-Remaining` an upstream answered with (Heroku sends it on every answer). */
  upstreamRateLimitRemaining: { name: 'UpstreamRateLimitRemaining', unit: 'None' },
} as const;
