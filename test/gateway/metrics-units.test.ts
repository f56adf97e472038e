import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createMetrics, latencyBucket } from '../../gateway/src/metrics/metrics';
import { readSettings } from '../../gateway/src/settings';
import { CALLER_TOKEN, GATEWAY_MAIN, readImageCommand, REPO_ROOT } from '../helpers/gateway';
import { configError } from '../helpers/config-files';
import { validateEmfDocument, type EmfDocument } from '../helpers/metrics-formats';
import { within } from '../helpers/process-wait';

const parse = (line: string) => JSON.parse(line) as EmfDocument;

test.each([
  [0.4321, 0.43],
  [1.234, 1.2],
  [12.34, 12],
  [56.7, 56],
  [57.1, 58],
  [123.4, 120],
  [987, 980],
  [30_123, 30_000],
])('latency %f ms goes to the bucket %f', (ms, bucket) => {
  expect(latencyBucket(ms)).toBe(bucket);
});

test('an interval with no traffic writes nothing; the next interval starts from zero', () => {
  const metrics = createMetrics('svc');
  expect(metrics.takeEmfDocuments(1_800_000_000_000)).toEqual([]);
  metrics.request({ adapter: 'heroku', status: 200, error: undefined });
  expect(metrics.takeEmfDocuments(1_800_000_000_000)).toHaveLength(1);
  expect(metrics.takeEmfDocuments(1_800_000_060_000)).toEqual([]);
});

test('a caller that went away (499) counts as a 4xx; gateway errors get a document per error id', () => {
  const metrics = createMetrics('svc');
  metrics.request({ adapter: 'heroku', status: 499, error: undefined });
  metrics.request({ adapter: 'heroku', status: 502, error: 'bad_gateway' });
  metrics.request({ adapter: 'heroku', status: 504, error: 'gateway_timeout' });
  metrics.request({ adapter: 'heroku', status: 502, error: 'bad_gateway' });
  const documents = metrics.takeEmfDocuments(1_800_000_000_000).map(parse);

  for (const document of documents) expect(validateEmfDocument(document)).toEqual([]);
  expect(documents[0]).toMatchObject({
    Requests: 4,
    Requests4xx: 1,
    Requests5xx: 3,
    Service: 'svc',
    Adapter: 'heroku',
  });
  expect(documents.slice(1).map(({ Error, GatewayErrors }) => ({ Error, GatewayErrors }))).toEqual([
    { Error: 'bad_gateway', GatewayErrors: 2 },
    { Error: 'gateway_timeout', GatewayErrors: 1 },
  ]);
});

test('more than 100 distinct latency buckets in an interval are split over documents of at most 100 values', () => {
  const metrics = createMetrics('svc');
  // 1.0 to 60.9 ms in 0.1 ms steps: 111 buckets.
  for (let step = 0; step < 600; step++) {
    metrics.upstream({ adapter: 'heroku', status: 200, latencyMs: 1 + step / 10, rateLimitRemaining: undefined });
  }
  const documents = metrics.takeEmfDocuments(1_800_000_000_000).map(parse);
  const latencies = documents.map((document) => document.UpstreamLatency as { Values: number[]; Count: number });

  expect(documents.length).toBeGreaterThan(1);
  for (const document of documents) expect(validateEmfDocument(document)).toEqual([]);
  for (const latency of latencies) expect(latency.Values.length).toBeLessThanOrEqual(100);
  expect(latencies.reduce((total, latency) => total + latency.Count, 0)).toBe(600);
  // Each document's values are distinct and in order; together they cover every bucket once.
  const all = latencies.flatMap((latency) => latency.Values);
  expect(new Set(all).size).toBe(all.length);
  expect([...all].sort((a, b) => a - b)).toEqual(all);
});

test.each<[string, Record<string, string>, RegExp]>([
  [
    'the admin port equal to the public port',
    { PORT: '9090', ATLAS_ADMIN_PORT: '9090' },
    /ATLAS_ADMIN_PORT.*never served on the public port/,
  ],
  ['an interval below 100 ms', { ATLAS_METRICS_INTERVAL_MS: '10' }, /ATLAS_METRICS_INTERVAL_MS.*from 100 to 3600000/],
  [
    'a service name with a space',
    { ATLAS_METRICS_SERVICE: 'atlas prod' },
    /ATLAS_METRICS_SERVICE.*not a dimension value/,
  ],
])('refuses %s', (_case, env, message) => {
  const error = configError(() => readSettings({ ATLAS_ACCESS_TOKENS: CALLER_TOKEN, ...env }));
  expect(error.problems.map(({ where, message: text }) => `${where}: ${text}`).join('\n')).toMatch(message);
});

test('metrics settings: defaults, and the admin listener only when ATLAS_ADMIN_PORT is set', () => {
  expect(readSettings({ ATLAS_ACCESS_TOKENS: CALLER_TOKEN }).metrics).toEqual({
    service: 'atlas-gateway',
    intervalMs: 60_000,
    admin: undefined,
  });
  expect(
    readSettings({ ATLAS_ACCESS_TOKENS: CALLER_TOKEN, ATLAS_ADMIN_PORT: '9464', ATLAS_ADMIN_HOST: '0.0.0.0' }).metrics
      .admin,
  ).toEqual({ port: 9464, host: '0.0.0.0' });
});

test('on a terminal the gateway logs readable, coloured lines (pino-pretty), not JSON, and writes no EMF', async () => {
  const { nodeOptions } = readImageCommand();
  const command = [process.execPath, ...nodeOptions, GATEWAY_MAIN].map((part) => `'${part}'`).join(' ');
  // script(1) gives the gateway a terminal; its output is everything the terminal showed.
  const terminal = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      ATLAS_ACCESS_TOKENS: CALLER_TOKEN,
      ATLAS_METRICS_INTERVAL_MS: '100',
      ATLAS_ADAPTERS: JSON.stringify([{ name: 'heroku', baseUrl: 'http://127.0.0.1:9' }]),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  terminal.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = once(terminal, 'exit');
  try {
    const listening = new Promise<void>((resolve) => {
      const check = () => {
        if (output.includes('Atlas gateway listening')) resolve();
      };
      terminal.stdout.on('data', check);
    });
    await within(listening, 15_000, 'the listening line on the terminal');
    // A few metric intervals pass: a terminal gets no EMF documents.
    await new Promise((resolve) => setTimeout(resolve, 300));
  } finally {
    terminal.kill('SIGTERM');
    await exited;
  }
  // eslint-disable-next-line no-control-regex
  expect(output).toMatch(/\x1b\[\d+m/);
  expect(output).not.toContain('"msg":"Atlas gateway listening"');
  expect(output).not.toContain('_aws');
});
