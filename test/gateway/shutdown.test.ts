import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { CALLER_AUTH, CALLER_TOKEN, spawnGateway, stopGateway, type GatewayProcess } from '../helpers/gateway';
import { send } from '../helpers/http';
import { waitForOutput, within } from '../helpers/process-wait';
import { startUpstream, type Upstream } from '../helpers/upstreams';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
const DRAINING = /"msg":"shutting down: draining in-flight requests"/;
/** Bounds waits so a broken shutdown fails the test instead of hanging it; far above what a working one needs. */
const BOUND_MS = 10_000;

/** An upstream request the test holds open until it decides to answer (or never does). */
interface Pending {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
}

let upstream: Upstream;
let arrivals: ((pending: Pending) => void)[] = [];
const waiting: Pending[] = [];

/** Resolves with the next request to reach the upstream. */
function nextUpstreamRequest(): Promise<Pending> {
  const already = waiting.shift();
  if (already !== undefined) return Promise.resolve(already);
  return new Promise((resolve) => arrivals.push(resolve));
}

beforeEach(async () => {
  arrivals = [];
  waiting.length = 0;
  upstream = await startUpstream((req, res) => {
    const pending = { req, res };
    const arrival = arrivals.shift();
    if (arrival === undefined) waiting.push(pending);
    else arrival(pending);
  });
});

afterEach(async () => {
  await upstream.close();
});

async function spawnWithGrace(graceMs: number, timeoutMs = 60_000): Promise<GatewayProcess> {
  const gateway = await spawnGateway({
    ATLAS_ADAPTERS: JSON.stringify([{ name: 'slow', baseUrl: upstream.url, timeoutMs }]),
    ATLAS_ACCESS_TOKENS: CALLER_TOKEN,
    ATLAS_SHUTDOWN_GRACE_MS: String(graceMs),
  });
  expect(gateway.url).not.toBe('');
  return gateway;
}

/** Opens a TCP connection and reports whether it was accepted or the error code it failed with. */
function tryConnect(baseUrl: string): Promise<string> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/**
 * Connects until a connection is refused or the bound passes, and returns the
 * last outcome. The gateway logs that it drains just before it closes its
 * listener, so the first attempt may still slip in.
 */
async function connectUntilRefused(baseUrl: string, ms = BOUND_MS): Promise<string> {
  const deadline = Date.now() + ms;
  let outcome = await tryConnect(baseUrl);
  while (outcome !== 'ECONNREFUSED' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    outcome = await tryConnect(baseUrl);
  }
  return outcome;
}

describe.each(SIGNALS)('on %s', (signal) => {
  test('an in-flight request completes with its full body and Connection: close, new connections are refused, and the process exits 0', async () => {
    const gateway = await spawnWithGrace(15_000);
    try {
      const body = randomBytes(256 * 1024);
      const inFlight = send(gateway.url, { path: '/v1/apis/http/slow/report', headers: CALLER_AUTH });
      const pending = await within(nextUpstreamRequest(), BOUND_MS, 'the request reaching the upstream');

      gateway.process.kill(signal);
      await waitForOutput(gateway, DRAINING);
      // The upstream has not answered yet, so the gateway is still running while this is checked.
      expect(await connectUntilRefused(gateway.url)).toBe('ECONNREFUSED');
      expect(gateway.process.exitCode).toBeNull();

      // The upstream takes its time (about a second) to answer while the gateway drains.
      setTimeout(() => {
        pending.res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
        pending.res.end(body);
      }, 1_000);
      const res = await within(inFlight, BOUND_MS, 'the in-flight response');
      expect(res.status).toBe(200);
      // Its head was written after draining began: the client must not reuse the connection.
      expect(res.headers.connection).toBe('close');
      expect(res.body.length).toBe(body.length);
      expect(createHash('sha256').update(res.body).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));

      expect(await within(gateway.exited, BOUND_MS, 'the gateway exiting')).toBe(0);
    } finally {
      await stopGateway(gateway);
    }
  });

  test('an idle keep-alive connection is closed and the process exits 0 without waiting out the grace period', async () => {
    // A 15 s grace period: an exit within the 10 s bound shows the gateway did not wait for the idle connection.
    const gateway = await spawnWithGrace(15_000);
    const agent = new http.Agent({ keepAlive: true });
    try {
      const freed = new Promise<net.Socket>((resolve) => agent.once('free', resolve));
      const res = await send(gateway.url, { path: '/healthz', agent });
      expect(res.status).toBe(200);
      const socket = await within(freed, BOUND_MS, 'the connection returning to the keep-alive pool');
      expect(socket.destroyed).toBe(false);
      const socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));

      gateway.process.kill(signal);
      await within(socketClosed, BOUND_MS, 'the gateway closing the idle keep-alive connection');
      expect(await within(gateway.exited, BOUND_MS, 'the gateway exiting before its grace period')).toBe(0);
    } finally {
      agent.destroy();
      await stopGateway(gateway);
    }
  });

  test('a request that never completes is cut off after the grace period and the process still exits 0', async () => {
    const gateway = await spawnWithGrace(500, 600_000);
    try {
      const stuck = send(gateway.url, { path: '/v1/apis/http/slow/never', headers: CALLER_AUTH }).then(
        (res) => `answered ${res.status}`,
        (error: NodeJS.ErrnoException) => error.code ?? error.message,
      );
      await within(nextUpstreamRequest(), BOUND_MS, 'the request reaching the upstream');

      gateway.process.kill(signal);
      expect(await within(gateway.exited, BOUND_MS, 'the gateway exiting after its grace period')).toBe(0);
      expect(await within(stuck, BOUND_MS, 'the stuck request ending')).toBe('ECONNRESET');
      await waitForOutput(gateway, /"msg":"shutdown grace period over: closing the connections still open"/);
    } finally {
      await stopGateway(gateway);
    }
  });
});
