import http from 'node:http';
import { DIMENSION, METRIC, METRICS_NAMESPACE } from '../../gateway/src/metrics/names';
import { CALLER_TOKEN, spawnGateway, stopGateway, type GatewayProcess } from '../helpers/gateway';
import { send } from '../helpers/http';
import { parsePrometheusText, validateEmfDocument, type EmfDocument } from '../helpers/metrics-formats';
import { startUpstream, type Upstream } from '../helpers/upstreams';

/**
 * The gateway's metrics from a real process under load: EMF documents on
 * stdout every 300 ms (valid against the EMF specification, one set per
 * adapter per interval) and the same figures at the admin listener's
 * GET /metrics.
 */

const AS_CALLER = { authorization: `Bearer ${CALLER_TOKEN}` };
const SERVICE = 'atlas-test';

let upstream: Upstream;
let gateway: GatewayProcess;
let metricsUrl: string;

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    const status = req.url!.startsWith('/revoked') ? 401 : req.url!.startsWith('/missing') ? 404 : 200;
    const remaining = String(4500 - upstream.seen.length);
    const answer = () => {
      res.writeHead(status, { 'content-type': 'application/json', 'ratelimit-remaining': remaining });
      res.end('{}');
    };
    if (req.url!.startsWith('/slow')) setTimeout(answer, 60);
    else answer();
  });
  gateway = await spawnGateway({
    ATLAS_ACCESS_TOKENS: CALLER_TOKEN,
    ATLAS_METRICS_SERVICE: SERVICE,
    ATLAS_METRICS_INTERVAL_MS: '300',
    ATLAS_ADMIN_PORT: '0',
    ATLAS_ADAPTERS: JSON.stringify([
      { name: 'heroku', baseUrl: upstream.url },
      { name: 'github', baseUrl: upstream.url },
    ]),
  });
  expect(gateway.url).not.toBe('');
  const listening = logLines().find((line) => line.msg === 'metrics listening');
  metricsUrl = String(listening?.url);
});

afterAll(async () => {
  await stopGateway(gateway);
  await upstream.close();
});

function logLines(): Record<string, unknown>[] {
  return gateway
    .stdout()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function emfDocuments(): EmfDocument[] {
  return logLines().filter((line) => '_aws' in line) as unknown as EmfDocument[];
}

/** Sends `count` requests, `concurrency` at a time. */
async function load(count: number, concurrency: number, request: (index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await request(next++);
    }),
  );
}

test('the admin listener serves GET /metrics only, on loopback; the public port does not serve it', async () => {
  expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  const admin = new URL(metricsUrl).origin;
  expect((await fetch(`${admin}/`)).status).toBe(404);
  expect((await fetch(`${admin}/v1/apis`)).status).toBe(404);
  expect((await fetch(metricsUrl, { method: 'POST' })).status).toBe(405);
  expect((await fetch(metricsUrl, { method: 'HEAD' })).status).toBe(200);
});

test('without ATLAS_ADMIN_PORT there is no admin listener', async () => {
  const plain = await spawnGateway({
    ATLAS_ACCESS_TOKENS: CALLER_TOKEN,
    ATLAS_ADAPTERS: JSON.stringify([{ name: 'heroku', baseUrl: upstream.url }]),
  });
  try {
    expect(plain.url).not.toBe('');
    expect(plain.stdout()).not.toContain('metrics listening');
  } finally {
    await stopGateway(plain);
  }
});

test('under load: EMF documents per adapter per interval, valid, whose sums match GET /metrics; the final interval is written at shutdown', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const request = (index: number) => {
    const adapter = index % 4 === 3 ? 'github' : 'heroku';
    const path = ['/account', '/slow', '/revoked', '/missing', '/apps/x/..%2F'][index % 5]!;
    return send(gateway.url, { path: `/v1/apis/http/${adapter}${path}`, headers: AS_CALLER, agent });
  };
  // Two bursts of 200, more than an interval apart: at least two intervals are written while it runs.
  await load(200, 16, request);
  await new Promise((resolve) => setTimeout(resolve, 700));
  await load(200, 16, (index) => request(index + 200));
  agent.destroy();
  // A request the gateway refuses before any adapter (no token) belongs to no adapter.
  expect((await send(gateway.url, { path: '/v1/apis/http/heroku/account' })).status).toBe(401);
  // The public port never serves the metrics.
  const publicMetrics = await send(gateway.url, { path: '/metrics' });
  expect(publicMetrics.status).toBe(404);
  expect(publicMetrics.text).not.toContain('atlas_requests_total');

  const scrape = await fetch(metricsUrl);
  expect(scrape.status).toBe(200);
  expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const prometheus = parsePrometheusText(await scrape.text());

  gateway.process.kill('SIGTERM');
  expect(await gateway.exited).toBe(0);

  const documents = emfDocuments();
  expect(documents.length).toBeGreaterThan(0);
  for (const document of documents) expect(validateEmfDocument(document)).toEqual([]);
  for (const document of documents) {
    expect(document._aws.CloudWatchMetrics[0]!.Namespace).toBe(METRICS_NAMESPACE);
    expect(document[DIMENSION.service]).toBe(SERVICE);
  }

  // Aggregated: at most one adapter document per adapter per interval, never one per request.
  const adapterDocuments = documents.filter((document) => !(DIMENSION.error in document));
  const perInterval = new Map<string, number>();
  for (const document of adapterDocuments) {
    const key = `${document._aws.Timestamp} ${String(document[DIMENSION.adapter])}`;
    perInterval.set(key, (perInterval.get(key) ?? 0) + 1);
  }
  expect(Math.max(...perInterval.values())).toBe(1);
  const herokuIntervals = new Set(
    adapterDocuments.filter((document) => document[DIMENSION.adapter] === 'heroku').map((d) => d._aws.Timestamp),
  );
  expect(herokuIntervals.size).toBeGreaterThanOrEqual(2);
  expect(adapterDocuments.length).toBeLessThan(400 / 10);

  const sum = (adapter: string, metric: string) =>
    adapterDocuments
      .filter((document) => document[DIMENSION.adapter] === adapter)
      .reduce((total, document) => total + ((document[metric] as number | undefined) ?? 0), 0);
  const latencyCount = (adapter: string) =>
    adapterDocuments
      .filter((document) => document[DIMENSION.adapter] === adapter && METRIC.upstreamLatency.name in document)
      .reduce((total, document) => total + (document[METRIC.upstreamLatency.name] as { Count: number }).Count, 0);
  const errors = (adapter: string, error: string) =>
    documents
      .filter((document) => document[DIMENSION.adapter] === adapter && document[DIMENSION.error] === error)
      .reduce((total, document) => total + (document[METRIC.gatewayErrors.name] as number), 0);

  // 400 requests: every fourth to github; paths cycle over five kinds.
  const expected = { heroku: 300, github: 100 };
  for (const [adapter, requests] of Object.entries(expected)) {
    expect(sum(adapter, METRIC.requests.name)).toBe(requests);
    expect(prometheus.sum('atlas_requests_total', { adapter })).toBe(requests);
    for (const statusClass of ['2xx', '4xx'] as const) {
      const name = statusClass === '2xx' ? METRIC.requests2xx.name : METRIC.requests4xx.name;
      expect(sum(adapter, name)).toBe(prometheus.sum('atlas_requests_total', { adapter, status_class: statusClass }));
    }
    // One in five is a 401 of the upstream's own; one in five a path the gateway refuses (400 bad_request).
    expect(sum(adapter, METRIC.upstreamCredentialRejections.name)).toBe(requests / 5);
    expect(prometheus.sum('atlas_upstream_credential_rejections_total', { adapter })).toBe(requests / 5);
    expect(errors(adapter, 'bad_request')).toBe(requests / 5);
    expect(prometheus.sum('atlas_gateway_errors_total', { adapter, error: 'bad_request' })).toBe(requests / 5);
    // Every request that reached the upstream has one latency observation.
    expect(latencyCount(adapter)).toBe((requests * 4) / 5);
    expect(prometheus.sum('atlas_upstream_latency_seconds_count', { adapter })).toBe((requests * 4) / 5);
  }
  expect(sum('heroku', METRIC.requests2xx.name)).toBe(120);
  expect(sum('heroku', METRIC.requests4xx.name)).toBe(180);

  // The upstream's RateLimit-Remaining: the last value of each interval; the scrape's is the last one seen.
  const remaining = prometheus.sum('atlas_upstream_ratelimit_remaining', { adapter: 'heroku' });
  expect(remaining).toBeGreaterThan(4500 - 400);
  const lastDocument = adapterDocuments.filter((document) => document[DIMENSION.adapter] === 'heroku').at(-1)!;
  expect(lastDocument[METRIC.upstreamRateLimitRemaining.name]).toBeLessThanOrEqual(4500);

  // The last interval's figures are written before the gateway says it stopped.
  const messages = logLines().map((line) => ('_aws' in line ? 'emf' : String(line.msg)));
  expect(messages.at(-1)).toBe('stopped');
});
