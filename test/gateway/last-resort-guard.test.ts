import path from 'node:path';
import { REPO_ROOT, spawnGateway, stopGateway, type GatewayProcess } from '../helpers/gateway';
import { exchangeRaw, send, statusLines } from '../helpers/http';
import { waitForOutput, within } from '../helpers/process-wait';

/**
 * An exception nothing catches (a bug, in a callback no handler wraps) fails
 * the one request whose handling threw it and nothing else. The server runs
 * as its own process with routes that throw from timers, so the exceptions
 * are real uncaught ones.
 */

const SERVER = path.join(REPO_ROOT, 'test/fixtures/processes/throwing-server.cjs');
const BOUND_MS = 5_000;

let server: GatewayProcess;

beforeAll(async () => {
  server = await spawnGateway({}, REPO_ROOT, SERVER);
  expect(server.url).not.toBe('');
});

afterAll(async () => {
  await stopGateway(server);
});

function logLines(process: GatewayProcess): Record<string, unknown>[] {
  return process
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function expectStillServing(): Promise<void> {
  expect(server.process.exitCode).toBeNull();
  expect(server.process.signalCode).toBeNull();
  const res = await send(server.url, { path: '/ok' });
  expect(res.status).toBe(200);
  expect(res.text).toBe('ok');
}

test('before the response has started: that request gets 500 internal_error with Connection: close, is logged, and the process keeps serving', async () => {
  const res = await within(send(server.url, { path: '/throws-before-head' }), BOUND_MS, 'the answer');
  expect(res.status).toBe(500);
  expect(res.headers.connection).toBe('close');
  expect(res.json()).toEqual({ id: 'internal_error', message: 'The gateway failed to handle the request.' });
  const requestId = res.headers['x-request-id'] as string;
  await waitForOutput(server, new RegExp(`"requestId":"${requestId}"[^\\n]*"msg":"request"`));
  const lines = logLines(server).filter((line) => line.requestId === requestId);
  expect(lines).toContainEqual(
    expect.objectContaining({
      level: 'error',
      msg: expect.stringContaining('uncaught exception while handling a request'),
    }),
  );
  expect(lines).toContainEqual(
    expect.objectContaining({
      msg: 'request',
      status: 500,
      error: 'internal_error',
      cause: 'Error: thrown in a timer of a request',
    }),
  );
  await expectStillServing();
});

test('after the response has started: that connection is cut, the response left incomplete, and the process keeps serving', async () => {
  const exchange = await within(
    exchangeRaw(server.url, 'GET /throws-after-head HTTP/1.1\r\nHost: test\r\n\r\n'),
    BOUND_MS,
    'the exchange',
  );
  expect(statusLines(exchange.text)).toEqual(['HTTP/1.1 200 OK']);
  expect(exchange.text).toContain('partial ');
  // Chunked and never terminated: the client can tell the body is incomplete.
  expect(exchange.text).not.toContain('\r\n0\r\n\r\n');
  expect(exchange.ending).not.toBe('idle');
  await waitForOutput(server, /"error":"internal_error","cause":"Error: thrown while the body streams"/);
  await expectStillServing();
});

test('outside any request: the exception is logged as fatal and the process exits 1', async () => {
  const outside = await spawnGateway({ THROW_OUTSIDE_REQUEST_MS: '50' }, REPO_ROOT, SERVER);
  try {
    expect(await within(outside.exited, BOUND_MS, 'the exit')).toBe(1);
    expect(logLines(outside)).toContainEqual(
      expect.objectContaining({ level: 'fatal', msg: expect.stringContaining('outside any request') }),
    );
  } finally {
    await stopGateway(outside);
  }
});
