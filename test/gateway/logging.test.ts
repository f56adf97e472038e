import http, { type OutgoingHttpHeaders } from 'node:http';
import net from 'node:net';
import {
  CALLER_AUTH,
  CALLER_TOKEN,
  type InProcessGateway,
  spawnGateway,
  startGateway,
  stopGateway,
} from '../helpers/gateway';
import { close, listen, send } from '../helpers/http';
import { startEchoUpstream, type Upstream } from '../helpers/upstreams';

const OTHER_TOKEN = 'other-caller-token-7a1c9e3f5b2d4068ace1357924680bdf';

/** A URL on 127.0.0.1 where nothing listens: connections to it are refused. */
async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  const url = await listen(server);
  await close(server);
  return url;
}

async function requestLog(target: InProcessGateway, requestId: string): Promise<Record<string, unknown>> {
  // The line is written when the response closes, which can trail the client's view of it.
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const line = target.logs().find((entry) => entry.msg === 'request' && entry.requestId === requestId);
    if (line !== undefined) return line;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no request log line for ${requestId}`);
}

function requestId(res: { headers: http.IncomingHttpHeaders }): string {
  const id = res.headers['x-request-id'];
  expect(typeof id).toBe('string');
  return id as string;
}

describe('request log lines of the in-process gateway', () => {
  let upstream: Upstream;
  let gateway: InProcessGateway;

  beforeAll(async () => {
    upstream = await startEchoUpstream();
    gateway = await startGateway({
      adapters: [
        { name: 'echo', baseUrl: upstream.url },
        { name: 'down', baseUrl: await closedPortUrl() },
        { name: 'keyless', baseUrl: upstream.url, headers: [{ name: 'X-Api-Key', value: '${{ NOT_SET_ANYWHERE }}' }] },
      ],
      auth: {
        accessTokens: [
          { caller: 'default', token: CALLER_TOKEN },
          { caller: 'ops', token: OTHER_TOKEN },
        ],
      },
    });
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  test('each request writes exactly one "request" line, identified by its X-Request-Id', async () => {
    const before = gateway.logs().filter((entry) => entry.msg === 'request').length;
    const responses = [
      await send(gateway.url, { path: '/v1/apis/http/echo/one?x=1', headers: CALLER_AUTH }),
      await send(gateway.url, { path: '/v1/apis/http/echo/two' }),
      await send(gateway.url, { path: '/healthz' }),
    ];
    const ids = responses.map(requestId);
    for (const id of ids) await requestLog(gateway, id);

    const lines = gateway.logs().filter((entry) => entry.msg === 'request');
    expect(lines).toHaveLength(before + 3);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(lines.filter((entry) => entry.requestId === id)).toHaveLength(1);
  });

  test('a proxied request is logged with id, caller, adapter, method, path without query, status and duration', async () => {
    const res = await send(gateway.url, {
      method: 'POST',
      path: '/v1/apis/http/echo/users/42?include=teams&page=2',
      headers: { ...CALLER_AUTH, 'content-type': 'application/json' },
      body: '{"name":"x"}',
    });
    expect(res.status).toBe(200);

    const line = await requestLog(gateway, requestId(res));
    expect(line).toMatchObject({
      msg: 'request',
      requestId: res.headers['x-request-id'],
      adapter: 'echo',
      method: 'POST',
      path: '/v1/apis/http/echo/users/42',
      status: 200,
    });
    expect(line.caller).toBe('token:default');
    expect(typeof line.durationMs).toBe('number');
    expect(line.durationMs).toBeGreaterThanOrEqual(0);
    expect(line.error).toBeUndefined();
    expect(JSON.stringify(line)).not.toContain('include=teams');
  });

  test('the caller is the name its static token was given, never the token', async () => {
    const viaBearer = await send(gateway.url, { path: '/v1/apis', headers: CALLER_AUTH });
    const viaAtlasHeader = await send(gateway.url, {
      path: '/v1/apis',
      headers: { 'atlas-accesstoken': CALLER_TOKEN },
    });
    const other = await send(gateway.url, { path: '/v1/apis', headers: { authorization: `Bearer ${OTHER_TOKEN}` } });
    const lines = [
      await requestLog(gateway, requestId(viaBearer)),
      await requestLog(gateway, requestId(viaAtlasHeader)),
      await requestLog(gateway, requestId(other)),
    ];
    const [first, second, third] = lines.map((line) => String(line.caller));

    expect([first, second, third]).toEqual(['token:default', 'token:default', 'token:ops']);
    for (const line of lines) {
      expect(JSON.stringify(line)).not.toContain(CALLER_TOKEN);
      expect(JSON.stringify(line)).not.toContain(OTHER_TOKEN);
    }
  });

  test.each<{ case: string; id: string; method: string; path: string; headers: OutgoingHttpHeaders; status: number }>([
    {
      case: 'a missing caller token',
      id: 'unauthorized',
      method: 'GET',
      path: '/v1/apis/http/echo/x',
      headers: {},
      status: 401,
    },
    {
      case: 'a wrong caller token',
      id: 'unauthorized',
      method: 'GET',
      path: '/v1/apis/http/echo/x',
      headers: { authorization: `Bearer ${CALLER_TOKEN}0` },
      status: 401,
    },
    {
      case: 'an unknown adapter',
      id: 'adapter_not_found',
      method: 'GET',
      path: '/v1/apis/http/nope/x',
      headers: CALLER_AUTH,
      status: 404,
    },
    { case: 'an unknown route', id: 'not_found', method: 'GET', path: '/nothing-here', headers: {}, status: 404 },
    {
      case: 'a method the route refuses',
      id: 'method_not_allowed',
      method: 'DELETE',
      path: '/v1/apis',
      headers: CALLER_AUTH,
      status: 405,
    },
    {
      case: 'an encoded dot segment',
      id: 'bad_request',
      method: 'GET',
      path: '/v1/apis/http/echo/a/%2e%2e/b',
      headers: CALLER_AUTH,
      status: 400,
    },
    {
      case: 'a refused upstream',
      id: 'bad_gateway',
      method: 'GET',
      path: '/v1/apis/http/down/x',
      headers: CALLER_AUTH,
      status: 502,
    },
    {
      case: 'an adapter missing its secret',
      id: 'adapter_unavailable',
      method: 'GET',
      path: '/v1/apis/http/keyless/x',
      headers: CALLER_AUTH,
      status: 503,
    },
  ])('a request failing on $case is logged with error $id', async ({ id, method, path, headers, status }) => {
    const res = await send(gateway.url, { method, path, headers });
    expect(res.status).toBe(status);
    expect(res.json()).toEqual({ id, message: expect.any(String) });

    const line = await requestLog(gateway, requestId(res));
    expect(line.error).toBe(id);
    expect(line.status).toBe(status);
    expect(line.method).toBe(method);
    expect(line.path).toBe(path);
  });

  test('a well-formed client X-Request-Id is reused in the response and the log line', async () => {
    const offered = 'client-trace.01:ABC_def-9';
    const res = await send(gateway.url, {
      path: '/v1/apis/http/echo/x',
      headers: { ...CALLER_AUTH, 'x-request-id': offered },
    });

    expect(res.headers['x-request-id']).toBe(offered);
    expect((await requestLog(gateway, offered)).path).toBe('/v1/apis/http/echo/x');
  });

  test.each([
    ['spaces', 'my request id'],
    ['200 characters', 'a'.repeat(200)],
    ['JSON and quote characters', '{"forged":"line"}'],
  ])('a client X-Request-Id with %s is replaced by a fresh id', async (_case, offered) => {
    const res = await send(gateway.url, {
      path: '/v1/apis/http/echo/x',
      headers: { ...CALLER_AUTH, 'x-request-id': offered },
    });

    const id = requestId(res);
    expect(id).not.toBe(offered);
    expect(id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    const line = await requestLog(gateway, id);
    expect(JSON.stringify(line)).not.toContain(offered);
  });
});

/** Sends raw bytes and resolves with whatever comes back before the server closes the connection. */
function sendRaw(baseUrl: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.end(bytes);
  });
}

test('no secret appears in the output of the gateway process, even at trace level, and start-up lists the adapters', async () => {
  const upstreamSecret = 'upstream-secret-6c1f0e2d9b8a7f3e4d5c6b7a8f9e0d1c';
  const callerToken = 'process-caller-token-3e8d1c7b5a9f2e4d6c0b8a1f3e5d7c9b';
  const wrongToken = 'wrong-caller-token-0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c';
  const querySecret = 'query-secret-a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9';
  const upstream = await startEchoUpstream();
  const downUrl = await closedPortUrl();
  const gateway = await spawnGateway({
    ATLAS_LOG_LEVEL: 'trace',
    ATLAS_ACCESS_TOKENS: `${callerToken},second-token-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d`,
    UPSTREAM_SECRET: upstreamSecret,
    ATLAS_ADAPTERS: JSON.stringify([
      {
        name: 'echo',
        baseUrl: upstream.url,
        headers: [{ name: 'Authorization', value: 'Bearer ${{ UPSTREAM_SECRET }}' }],
        hostnames: ['echo.atlas.example'],
      },
      { name: 'down', baseUrl: downUrl, headers: [{ name: 'Authorization', value: 'Bearer ${{UPSTREAM_SECRET}}' }] },
    ]),
  });
  try {
    expect(gateway.url).not.toBe('');
    const asCaller = { authorization: `Bearer ${callerToken}` };

    const ok = await send(gateway.url, { path: '/v1/apis/http/echo/account', headers: asCaller });
    expect(ok.status).toBe(200);
    // The secret really is in play: the upstream received it.
    expect(upstream.seen[0]!.headers.authorization).toBe(`Bearer ${upstreamSecret}`);

    const withQuery = await send(gateway.url, {
      path: `/v1/apis/http/echo/apps?api_key=${querySecret}`,
      headers: { 'atlas-accesstoken': callerToken, cookie: `session=${callerToken}` },
    });
    expect(withQuery.status).toBe(200);
    expect(upstream.seen[1]!.url).toBe(`/apps?api_key=${querySecret}`);

    expect((await send(gateway.url, { path: '/v1/apis', headers: asCaller })).status).toBe(200);
    const refusedCases = [
      { path: `/v1/apis/http/echo/account?api_key=${querySecret}`, headers: { authorization: `Bearer ${wrongToken}` } },
      { path: '/v1/apis/http/echo/account', headers: { 'atlas-accesstoken': wrongToken } },
      { path: '/v1/apis/http/echo/account', headers: { authorization: `Bearer ${upstreamSecret}` } },
      { path: `/v1/apis?token=${callerToken}` },
    ];
    for (const request of refusedCases) expect((await send(gateway.url, request)).status).toBe(401);

    const refused = await send(gateway.url, { path: `/v1/apis/http/down/x?api_key=${querySecret}`, headers: asCaller });
    expect(refused.status).toBe(502);

    const malformed = await sendRaw(
      gateway.url,
      `GET /v1/apis?api_key=${querySecret} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${callerToken}\r\nBroken header line\r\n\r\n`,
    );
    expect(malformed).toMatch(/^HTTP\/1\.1 400 /);

    gateway.process.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);

    const output = gateway.stdout() + gateway.stderr();
    const lines = gateway
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    // Guards against a vacuous pass: the requests above were all logged.
    expect(lines.filter((line) => line.msg === 'request')).toHaveLength(8);
    expect(lines.some((line) => line.level === 'debug' || line.level === 'trace')).toBe(true);
    for (const secret of [upstreamSecret, callerToken, wrongToken, querySecret]) {
      expect(output).not.toContain(secret);
    }

    const startup = lines.find((line) => line.msg === 'Atlas gateway listening');
    expect(startup).toBeDefined();
    const listed = startup!.adapters as Record<string, unknown>[];
    expect(listed.map(({ name, baseUrl, hostnames }) => ({ name, baseUrl, hostnames }))).toEqual([
      { name: 'echo', baseUrl: upstream.url, hostnames: ['echo.atlas.example'] },
      { name: 'down', baseUrl: downUrl, hostnames: undefined },
    ]);
    const startupText = JSON.stringify(startup);
    expect(startupText).not.toContain(upstreamSecret);
    expect(startupText).not.toContain('Bearer');
    expect(startupText).not.toContain('UPSTREAM_SECRET');
  } finally {
    await stopGateway(gateway);
    await upstream.close();
  }
});
