import { EventEmitter, once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { type AtlasProxy, ProxyStartError, startAtlasProxy } from '../helpers/atlas-proxy';
import { type CliTempDir, makeCliTempDir, runAtlas } from '../helpers/cli-run';
import { CALLER_TOKEN, startGateway, type InProcessGateway } from '../helpers/gateway';
import { close, listen, send } from '../helpers/http';
import { within } from '../helpers/process-wait';
import { startEchoUpstream, startUpstream, type Upstream } from '../helpers/upstreams';

/**
 * `atlas proxy` from start to stop: what it refuses to start with, how it
 * reports a gateway it cannot use, and how a signal ends it.
 */

/** How long the proxy lets requests in flight finish after a signal (SHUTDOWN_GRACE_MS of commands/proxy.ts). */
const GRACE_MS = 5_000;

let echo: Upstream;
let held: Upstream;
let gateway: InProcessGateway;
let closedPortUrl: string;
let dir: CliTempDir;
/** The held upstream writes the head and a first chunk, then waits for 'release'. */
const heldEvents = new EventEmitter();
const running: AtlasProxy[] = [];

beforeAll(async () => {
  echo = await startEchoUpstream();
  held = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first;');
    heldEvents.once('release', () => res.end('rest'));
  });
  gateway = await startGateway({
    adapters: [
      { name: 'echo', baseUrl: echo.url },
      { name: 'held', baseUrl: held.url },
    ],
  });
  const closed = http.createServer();
  closedPortUrl = await listen(closed);
  await close(closed);
  dir = makeCliTempDir();
});

afterAll(async () => {
  await Promise.all(running.map((proxy) => proxy.kill()));
  await gateway?.close();
  await Promise.all([echo?.close(), held?.close()]);
  dir?.remove();
});

async function start(
  args: readonly string[],
  options: Parameters<typeof startAtlasProxy>[1] = {},
): Promise<AtlasProxy> {
  const proxy = await startAtlasProxy(args, options);
  running.push(proxy);
  return proxy;
}

function flags(url = gateway.url, token = CALLER_TOKEN): string[] {
  return ['--url', url, '--token', token];
}

/** Starts a request and resolves with its response head and a promise of the whole body. */
async function begin(
  url: string,
  path: string,
  agent: http.Agent | false = false,
): Promise<{ res: http.IncomingMessage; body: Promise<string> }> {
  const target = new URL(url);
  const request = http.get({ host: target.hostname, port: target.port, path, agent });
  const [res] = (await once(request, 'response')) as [http.IncomingMessage];
  const body = new Promise<string>((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => resolve(text));
    const brokeOff = () => reject(new Error(`the response broke off after ${JSON.stringify(text)}`));
    res.on('error', brokeOff);
    res.on('close', () => {
      if (!res.complete) brokeOff();
    });
  });
  return { res, body };
}

describe('where the URL and token come from', () => {
  test('ATLAS_URL and ATLAS_TOKEN from the environment', async () => {
    const proxy = await start(['echo:0'], { env: { ATLAS_URL: gateway.url, ATLAS_TOKEN: CALLER_TOKEN } });
    const res = await send(proxy.urls.echo!, { path: '/from-env' });
    expect(res.status).toBe(200);
    expect(proxy.forwardsTo.echo).toBe(`${gateway.url}/v1/apis/http/echo`);
  });

  test('the Pulumi stack outputs url and accessToken (--show-secrets) with the Pulumi CLI on PATH', async () => {
    const bin = path.join(dir.path, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(
      path.join(bin, 'pulumi'),
      [
        '#!/bin/sh',
        `if [ "$*" = "stack output url" ]; then echo "${gateway.url}"; exit 0; fi`,
        `if [ "$*" = "stack output accessToken --show-secrets" ]; then echo "${CALLER_TOKEN}"; exit 0; fi`,
        'echo "unexpected: $*" >&2; exit 1',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const proxy = await start(['echo:0'], { path: bin });
    const res = await send(proxy.urls.echo!, { path: '/from-stack' });
    expect(res.status).toBe(200);
  });

  test.each([
    ['the token', { ATLAS_URL: 'http://127.0.0.1:9' }, /--token or set ATLAS_TOKEN/],
    ['the URL', { ATLAS_TOKEN: CALLER_TOKEN }, /--url or set ATLAS_URL/],
  ])('without %s (and no pulumi on PATH) it exits 1 naming it, listening nowhere', async (_what, env, named) => {
    const result = await runAtlas(['proxy', 'echo:0'], { env });
    expect(result.code).toBe(1);
    expect(result.out).toBe('');
    expect(result.stderr).toMatch(/^atlas: missing /);
    expect(result.stderr).toMatch(named);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('a gateway URL that is not http(s) is refused at start', async () => {
    const result = await runAtlas(['proxy', 'echo:0', ...flags('ftp://127.0.0.1:21')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'atlas: the gateway URL "ftp://127.0.0.1:21" is not an http(s) URL: use one such as https://atlas.example.com\n',
    );
  });
});

describe('usage errors: exit 2, nothing listens', () => {
  test.each([
    ['--port 70000', ['echo', '--port', '70000'], /"70000" is not a port: use a whole number from 0/],
    ['--port abc', ['echo', '--port', 'abc'], /"abc" is not a port/],
    ['--port -1', ['echo', '--port', '-1'], /is not a port/],
    ['NAME:PORT past 65535', ['echo:65536'], /"echo:65536" does not end in a port: write NAME:PORT/],
    ['NAME: without a port', ['echo:'], /"echo:" does not end in a port/],
    ['two bare names', ['echo', 'held'], /echo and held would both listen on port 5000: .* echo:5000 held:5001/],
    ['an adapter named twice', ['echo:0', 'echo:0'], /"echo" is named twice/],
    ['one port asked for twice', ['echo:5999', 'held:5999'], /echo and held both ask for port 5999/],
    ['a name that is no adapter name', ['Heroku!:0'], /^error: .*Heroku!/m],
  ])('%s', async (_case, args, message) => {
    const result = await runAtlas(['proxy', ...args, ...flags()]);
    expect(result.code).toBe(2);
    expect(result.out).toBe('');
    expect(result.stderr).toMatch(message);
  });
});

test('a port another program holds: exit 1 with EADDRINUSE and what to do', async () => {
  const taken = http.createServer();
  const url = await listen(taken);
  try {
    const port = new URL(url).port;
    const result = await runAtlas(['proxy', `echo:${port}`, ...flags()]);
    expect(result.code).toBe(1);
    expect(result.out).toBe('');
    expect(result.stderr).toBe(
      `atlas: cannot listen on 127.0.0.1:${port}: EADDRINUSE: another program uses the port; pass --port or NAME:PORT (0 picks a free port)\n`,
    );
  } finally {
    await close(taken);
  }
});

test('a bare name listens on --port', async () => {
  const free = http.createServer();
  const port = new URL(await listen(free)).port;
  await close(free);
  const proxy = await start(['echo', '--port', port, ...flags()]);
  expect(proxy.urls.echo).toBe(`http://127.0.0.1:${port}`);
});

test('--address other than loopback warns on stderr that whoever reaches it uses the token', async () => {
  const proxy = await start(['echo:0', '--address', '0.0.0.0', ...flags()]);
  expect(proxy.urls.echo).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  await proxy.waitForStderr(/listening on 0\.0\.0\.0/);
  expect(proxy.stderrLines()).toEqual([
    'atlas proxy: listening on 0.0.0.0, not only on this machine: anyone who reaches it calls the gateway with your Atlas token',
  ]);
  // Reached over loopback only; the Host a client on the network would send is accepted, a foreign one is not.
  const local = await send(proxy.urls.echo!, { path: '/wildcard' });
  expect(local.status).toBe(200);
  const foreign = await send(proxy.urls.echo!, { path: '/wildcard', headers: { host: 'attacker.example' } });
  expect(foreign.status).toBe(403);
});

test('a loopback --address prints no warning', async () => {
  const proxy = await start(['echo:0', '--address', 'localhost', ...flags()]);
  expect(proxy.urls.echo).toMatch(/^http:\/\/localhost:\d+$/);
  const res = await send(proxy.urls.echo!, { path: '/localhost' });
  expect(res.status).toBe(200);
  expect(proxy.stderr()).toBe('');
});

describe('a gateway it cannot use: one stderr line per request, the client gets JSON', () => {
  test('gateway unreachable: 502 gateway_unreachable, one line each naming ECONNREFUSED', async () => {
    const proxy = await start(['echo:0', ...flags(closedPortUrl)]);
    const origin = new URL(closedPortUrl).origin;
    for (const path of ['/first', '/second']) {
      const res = await within(send(proxy.urls.echo!, { path }), 10_000, `the answer to ${path}`);
      expect(res.status).toBe(502);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.json()).toEqual({
        id: 'gateway_unreachable',
        message: `atlas proxy cannot reach the gateway at ${origin}: ECONNREFUSED.`,
      });
    }
    await proxy.waitForStderr(/GET \/second:/);
    expect(proxy.stderrLines()).toEqual([
      `atlas proxy: GET /first: cannot reach the gateway at ${origin}: ECONNREFUSED`,
      `atlas proxy: GET /second: cannot reach the gateway at ${origin}: ECONNREFUSED`,
    ]);
  });

  test('an upload to an unreachable gateway gets the JSON error too', async () => {
    const proxy = await start(['echo:0', ...flags(closedPortUrl)]);
    const res = await send(proxy.urls.echo!, { method: 'POST', path: '/upload', body: 'x'.repeat(64 * 1024) });
    expect(res.status).toBe(502);
    expect(res.json()).toMatchObject({ id: 'gateway_unreachable' });
  });

  test('the gateway refuses the token: its 401 is forwarded as it is, and stderr says to check the token', async () => {
    const proxy = await start(['echo:0', ...flags(gateway.url, 'not-the-atlas-token')]);
    const direct = await send(gateway.url, {
      path: '/v1/apis/http/echo/account',
      headers: { authorization: 'Bearer not-the-atlas-token' },
    });
    const res = await send(proxy.urls.echo!, { path: '/account' });
    expect(res.status).toBe(401);
    expect(res.text).toBe(direct.text);
    expect(res.headers['www-authenticate']).toBe(direct.headers['www-authenticate']);
    expect(res.headers['atlas-error']).toBe('unauthorized');
    await proxy.waitForStderr(/GET \/account:/);
    expect(proxy.stderrLines()).toEqual([
      'atlas proxy: GET /account: the gateway refused the Atlas token (401): check --token, ATLAS_TOKEN or the stack output accessToken',
    ]);
    expect(echo.seen.some((seen) => seen.url === '/account')).toBe(false);
  });

  test("an adapter the gateway does not serve: the gateway's 404 is forwarded as it is", async () => {
    const proxy = await start(['nosuch:0', ...flags()]);
    const direct = await send(gateway.url, {
      path: '/v1/apis/http/nosuch/account',
      headers: { authorization: `Bearer ${CALLER_TOKEN}` },
    });
    const res = await send(proxy.urls.nosuch!, { path: '/account' });
    expect(res.status).toBe(404);
    expect(res.text).toBe(direct.text);
    expect(res.json()).toEqual({
      id: 'adapter_not_found',
      message: 'No adapter is named "nosuch". GET /v1/apis lists the adapters.',
    });
    await proxy.waitForStderr(/GET \/account:/);
    expect(proxy.stderrLines()).toEqual([
      'atlas proxy: GET /account: the gateway has no HTTP adapter "nosuch" (404): check the name with atlas apis list',
    ]);
  });
});

describe('stopping', () => {
  // Regression: the ready text was written before the signal handlers were in
  // place, so a signal sent as soon as it appeared could kill the process
  // (exit by signal, not 0). Several runs, since it was a race.
  test.each(['SIGTERM', 'SIGINT', 'SIGTERM', 'SIGINT', 'SIGTERM', 'SIGINT'] as const)(
    '%s sent the moment the ready text appears stops the proxy with exit code 0',
    async (signal) => {
      const proxy = await start(['echo:0', ...flags()]);
      const exit = await within(proxy.stop(signal), 10_000, `the exit after ${signal}`);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(proxy.stderr()).toBe('');
    },
  );

  test('SIGTERM with a kept-alive client connection open: exit 0, without waiting out the grace period', async () => {
    const proxy = await start(['echo:0', ...flags()]);
    const agent = new http.Agent({ keepAlive: true });
    try {
      const res = await send(proxy.urls.echo!, { path: '/keep-alive', agent });
      expect(res.status).toBe(200);
      const exit = await within(proxy.stop('SIGTERM'), GRACE_MS - 1_000, 'the exit after SIGTERM');
      expect(exit).toEqual({ code: 0, signal: null });
    } finally {
      agent.destroy();
    }
  });

  test('SIGTERM lets a response in flight finish, then exits 0 without waiting out the grace period', async () => {
    const proxy = await start(['held:0', ...flags()]);
    const agent = new http.Agent({ keepAlive: true });
    try {
      const { res, body } = await begin(proxy.urls.held!, '/in-flight', agent);
      expect(res.statusCode).toBe(200);
      proxy.process.kill('SIGTERM');
      // The signal arrives while the response is held at the upstream; then the rest follows.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(proxy.process.exitCode).toBeNull();
      heldEvents.emit('release');
      expect(await within(body, 5_000, 'the rest of the response')).toBe('first;rest');
      const exit = await within(proxy.exited, GRACE_MS - 1_000, 'the exit once the response is done');
      expect(exit).toEqual({ code: 0, signal: null });
    } finally {
      agent.destroy();
    }
  });

  test('a second signal cuts a response in flight at once, exit 0', async () => {
    const proxy = await start(['held:0', ...flags()]);
    const { body } = await begin(proxy.urls.held!, '/cut');
    proxy.process.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 200));
    proxy.process.kill('SIGINT');
    await expect(within(body, 5_000, 'the end of the cut response')).rejects.toThrow(/broke off after "first;"/);
    const exit = await within(proxy.exited, GRACE_MS - 1_000, 'the exit after the second signal');
    expect(exit).toEqual({ code: 0, signal: null });
    heldEvents.emit('release');
  });
});

test('a token with a character no HTTP header can carry is refused at start, saying where it is', async () => {
  const token = `${CALLER_TOKEN}\u200b`;
  const error = await start(['echo:0', ...flags(gateway.url, token)]).then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ProxyStartError);
  const { exit, stderr, stdout } = error as ProxyStartError;
  expect(exit.code).toBe(1);
  expect(stdout).toBe('');
  expect(stderr).toBe(
    `atlas: the access token has a character an HTTP header cannot carry (U+200B at position ${CALLER_TOKEN.length + 1}): copy the token again, without invisible characters or line breaks\n`,
  );
});
