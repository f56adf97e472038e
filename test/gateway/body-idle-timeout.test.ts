import http from 'node:http';
import { parseAdaptersJson } from '../../gateway/src/config/validate-adapters';
import { CALLER_AUTH, startGateway, type InProcessGateway } from '../helpers/gateway';
import { within } from '../helpers/process-wait';
import { startUpstream, type Upstream } from '../helpers/upstreams';

/**
 * Once the upstream's head has arrived, the response timeout no longer
 * applies; the body idle timeout bounds how long the upstream may then stay
 * silent, so a stalled upstream cannot hold a caller until the load
 * balancer's idle timeout.
 */

const IDLE_MS = 300;
const BOUND_MS = 5_000;

let upstream: Upstream;
let gateway: InProcessGateway;

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    if (req.url === '/stalls') {
      res.write('first part ');
    } else if (req.url === '/trickles') {
      // A byte every 100 ms: slow, but never idle for IDLE_MS.
      let sent = 0;
      const timer = setInterval(() => {
        res.write('.');
        if ((sent += 1) === 12) {
          clearInterval(timer);
          res.end();
        }
      }, 100);
      res.once('close', () => clearInterval(timer));
    } else if (req.url === '/large') {
      res.end(Buffer.alloc(8 * 1024 * 1024, 'x'));
    }
  });
  gateway = await startGateway({
    adapters: [{ name: 'up', baseUrl: upstream.url, bodyIdleTimeoutMs: IDLE_MS }],
  });
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

interface Download {
  readonly status: number;
  readonly body: string;
  readonly complete: boolean;
}

/** Downloads `path`, optionally pausing for `pauseMs` after the first chunk, and reports how the body ended. */
function download(path: string, pauseMs = 0): Promise<Download> {
  const url = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, headers: CALLER_AUTH, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      let paused = pauseMs === 0;
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (!paused) {
          paused = true;
          res.pause();
          setTimeout(() => res.resume(), pauseMs);
        }
      });
      const settle = () => resolve({ status: res.statusCode!, body, complete: res.complete });
      res.on('end', settle);
      res.on('close', settle);
      res.on('error', () => {});
    });
    req.end();
  });
}

test('an upstream that stalls in the middle of the body has the caller connection aborted after bodyIdleTimeoutMs, and it is logged', async () => {
  const outcome = await within(download('/v1/apis/http/up/stalls'), BOUND_MS, 'the stalled download ending');
  expect(outcome.status).toBe(200);
  expect(outcome.body).toBe('first part ');
  expect(outcome.complete).toBe(false);

  await within(
    (async () => {
      while (!gateway.logs().some((line) => line.msg === 'request' && line.error === 'gateway_timeout')) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })(),
    BOUND_MS,
    'the log line',
  );
  const line = gateway.logs().find((entry) => entry.msg === 'request' && entry.error === 'gateway_timeout')!;
  expect(line).toMatchObject({ adapter: 'up', status: 200, cause: expect.stringContaining(`${IDLE_MS} ms`) });
});

test('an upstream that is slow but never idle that long is not cut off', async () => {
  const outcome = await within(download('/v1/apis/http/up/trickles'), BOUND_MS, 'the trickling download');
  expect(outcome).toEqual({ status: 200, body: '.'.repeat(12), complete: true });
});

test('a caller that reads slowly is not mistaken for an idle upstream', async () => {
  const outcome = await within(download('/v1/apis/http/up/large', IDLE_MS * 4), BOUND_MS, 'the slow reader');
  expect(outcome.complete).toBe(true);
  expect(outcome.body.length).toBe(8 * 1024 * 1024);
});

test('bodyIdleTimeoutMs defaults to 60 s and is bounded like timeoutMs', () => {
  const [adapter] = parseAdaptersJson(JSON.stringify([{ name: 'a', baseUrl: 'https://api.example.com' }]));
  expect(adapter!.bodyIdleTimeoutMs).toBe(60_000);
  expect(() =>
    parseAdaptersJson(JSON.stringify([{ name: 'a', baseUrl: 'https://api.example.com', bodyIdleTimeoutMs: 0 }])),
  ).toThrow(/bodyIdleTimeoutMs/);
});
