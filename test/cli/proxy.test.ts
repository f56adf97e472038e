import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import { type AtlasProxy, startAtlasProxy } from '../helpers/atlas-proxy';
import { HEROKU_ACCEPT, startFakeHeroku, type FakeHeroku, type HerokuApp } from '../helpers/fake-heroku';
import { CALLER_TOKEN, startGateway, type InProcessGateway } from '../helpers/gateway';
import { send } from '../helpers/http';
import { within } from '../helpers/process-wait';
import { startEchoUpstream, startUpstream, type Seen, type Upstream } from '../helpers/upstreams';

/**
 * `atlas proxy` as a user runs it, between real clients and the real
 * gateway: every request goes to `<gateway>/v1/apis/http/<adapter>/<path>`
 * with the caller's Atlas token and nothing of the client's credentials, and
 * everything the gateway answers (status, headers, pagination, bodies,
 * errors) comes back untouched and streamed.
 */

const HEROKU_API_KEY = 'heroku-oauth-token-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
/** What Heroku tools are told their key is (describe-setup's PLACEHOLDER_KEY). */
const PLACEHOLDER = 'atlas-proxy';
const FIRST = randomBytes(1024 * 1024);
const REST = randomBytes(7 * 1024 * 1024);

interface GatewayRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
}

let heroku: FakeHeroku;
let echo: Upstream;
let bulk: Upstream;
let gateway: InProcessGateway;
let proxy: AtlasProxy;
/** Every request the gateway received, as it arrived. */
const atGateway: GatewayRequest[] = [];
/** The bulk upstream reports 'uploaded' (bytes so far) and waits for 'release' before a download's rest. */
const bulkEvents = new EventEmitter();

beforeAll(async () => {
  heroku = await startFakeHeroku({ token: HEROKU_API_KEY, appCount: 5 });
  echo = await startEchoUpstream();
  bulk = await startUpstream((req, res) => {
    if (req.url === '/upload') {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
        bulkEvents.emit('uploaded', bytes);
      });
      req.on('end', () => {
        const body = JSON.stringify({ bytes, sha256: hash.digest('hex') });
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-total': String(FIRST.length + REST.length) });
    res.write(FIRST);
    bulkEvents.once('release', () => res.end(REST));
  });
  gateway = await startGateway({
    adapters: [
      {
        name: 'heroku',
        baseUrl: heroku.url,
        headers: [
          { name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' },
          { name: 'Accept', value: HEROKU_ACCEPT },
        ],
      },
      {
        name: 'heroku-wrong-key',
        baseUrl: heroku.url,
        headers: [
          { name: 'Authorization', value: 'Bearer not-the-key-heroku-issued' },
          { name: 'Accept', value: HEROKU_ACCEPT },
        ],
      },
      { name: 'echo', baseUrl: echo.url },
      { name: 'bulk', baseUrl: bulk.url },
    ],
    env: { HEROKU_API_KEY },
  });
  gateway.server.prependListener('request', (req: http.IncomingMessage) => {
    atGateway.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders });
  });
  proxy = await startAtlasProxy([
    'heroku:0',
    'echo:0',
    'bulk:0',
    'heroku-wrong-key:0',
    '--url',
    gateway.url,
    '--token',
    CALLER_TOKEN,
  ]);
});

afterAll(async () => {
  await proxy?.kill();
  await gateway?.close();
  await Promise.all([heroku?.close(), echo?.close(), bulk?.close()]);
});

/** The requests the gateway received for `path` (below the adapter). */
function gatewayRequestsFor(adapter: string, path: string): GatewayRequest[] {
  return atGateway.filter((request) => request.url === `/v1/apis/http/${adapter}${path}`);
}

function sha256(...parts: Buffer[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

test('it prints where each listener forwards and the settings to paste, and nothing on stderr', () => {
  const heroku = proxy.urls.heroku!;
  expect(Object.keys(proxy.urls).sort()).toEqual(['bulk', 'echo', 'heroku', 'heroku-wrong-key']);
  for (const [adapter, url] of Object.entries(proxy.urls)) {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(proxy.forwardsTo[adapter]).toBe(`${gateway.url}/v1/apis/http/${adapter}`);
  }
  expect(new Set(Object.values(proxy.urls)).size).toBe(4);
  const out = proxy.stdout();
  expect(out).toContain(`export HEROKU_HOST=${heroku} HEROKU_API_KEY=${PLACEHOLDER}\n`);
  expect(out).toContain(`export HEROKU_PARTICLEBOARD_URL=${heroku} DISABLE_TELEMETRY=true\n`);
  expect(out).toContain(`new Heroku({ host: '${heroku}', token: '${PLACEHOLDER}' })\n`);
  expect(out).toContain(`curl -H 'Accept: ${HEROKU_ACCEPT}' ${heroku}/account\n`);
  expect(out).toContain(`curl ${proxy.urls.echo}/\n`);
  expect(out).not.toContain(CALLER_TOKEN);
  expect(proxy.stderr()).toBe('');
});

test('several NAME:PORT at once: each listener forwards to its own adapter', async () => {
  const [account, echoed] = await Promise.all([
    send(proxy.urls.heroku!, { path: '/account' }),
    send(proxy.urls.echo!, { path: '/which' }),
  ]);
  expect(account.status).toBe(200);
  expect(account.text).toBe(heroku.accountBody);
  expect(echoed.status).toBe(200);
  expect(echoed.json<Seen>().url).toBe('/which');
  expect(gatewayRequestsFor('heroku', '/account').length).toBeGreaterThan(0);
  expect(gatewayRequestsFor('echo', '/which')).toHaveLength(1);
});

test("METHOD /path?query goes to /v1/apis/http/<adapter>/path?query with the Atlas token, the client's credentials nowhere", async () => {
  const res = await send(proxy.urls.echo!, {
    method: 'DELETE',
    path: '/apps/a%2Fb/x?q=1&r=%20two&q=3',
    headers: {
      authorization: `Bearer ${PLACEHOLDER}`,
      'proxy-authorization': `Basic ${Buffer.from(`:${PLACEHOLDER}`).toString('base64')}`,
      cookie: `session=${PLACEHOLDER}`,
      'atlas-accesstoken': PLACEHOLDER,
      'x-custom': 'kept',
    },
  });
  expect(res.status).toBe(200);
  const [arrived] = gatewayRequestsFor('echo', '/apps/a%2Fb/x?q=1&r=%20two&q=3');
  expect(arrived).toBeDefined();
  expect(arrived!.method).toBe('DELETE');
  expect(arrived!.headers.authorization).toBe(`Bearer ${CALLER_TOKEN}`);
  expect(arrived!.headers['x-custom']).toBe('kept');
  expect(arrived!.rawHeaders.join('\n')).not.toContain(PLACEHOLDER);
  const upstream = res.json<Seen>();
  expect(upstream).toMatchObject({ method: 'DELETE', url: '/apps/a%2Fb/x?q=1&r=%20two&q=3' });
  expect(upstream.rawHeaders.join('\n')).not.toContain(PLACEHOLDER);
  expect(upstream.rawHeaders.join('\n')).not.toContain(CALLER_TOKEN);
});

test('heroku-client style Basic credentials (an empty user, the placeholder as password) never reach the gateway or Heroku', async () => {
  const before = heroku.seen.length;
  const res = await send(proxy.urls.heroku!, {
    path: '/account?basic=1',
    headers: { authorization: `Basic ${Buffer.from(`:${PLACEHOLDER}`).toString('base64')}`, accept: HEROKU_ACCEPT },
  });
  expect(res.status).toBe(200);
  const [arrived] = gatewayRequestsFor('heroku', '/account?basic=1');
  expect(arrived!.headers.authorization).toBe(`Bearer ${CALLER_TOKEN}`);
  const base64 = Buffer.from(`:${PLACEHOLDER}`).toString('base64');
  for (const raw of [arrived!.rawHeaders, ...heroku.seen.slice(before).map((seen) => seen.rawHeaders)]) {
    expect(raw.join('\n')).not.toContain(PLACEHOLDER);
    expect(raw.join('\n')).not.toContain(base64);
  }
  expect(heroku.seen.at(-1)!.headers.authorization).toBe(`Bearer ${HEROKU_API_KEY}`);
});

test("status, headers and Range pagination pass through untouched: the client walks every page by Heroku's Next-Range", async () => {
  const pages: { status: number; headers: http.IncomingHttpHeaders; apps: HerokuApp[] }[] = [];
  let range: string | undefined = 'id ..; max=2';
  while (range !== undefined && pages.length <= heroku.apps.length) {
    const res = await send(proxy.urls.heroku!, { path: '/apps', headers: { accept: HEROKU_ACCEPT, range } });
    pages.push({ status: res.status, headers: res.headers, apps: res.json<HerokuApp[]>() });
    range = res.headers['next-range'] as string | undefined;
  }
  expect(pages.map((page) => page.status)).toEqual([206, 206, 200]);
  expect(pages.flatMap((page) => page.apps)).toEqual(heroku.apps);
  expect(pages.map((page) => page.headers['content-range'])).toEqual([
    `id ${heroku.apps[0]!.id}..${heroku.apps[1]!.id}; max=2`,
    `id ${heroku.apps[2]!.id}..${heroku.apps[3]!.id}; max=2`,
    `id ${heroku.apps[4]!.id}..${heroku.apps[4]!.id}; max=2`,
  ]);
  expect(pages.map((page) => page.headers['next-range'])).toEqual([
    `id ]${heroku.apps[1]!.id}..; max=2`,
    `id ]${heroku.apps[3]!.id}..; max=2`,
    undefined,
  ]);
  for (const { headers } of pages) {
    expect(headers['accept-ranges']).toBe('id, name');
    expect(headers['ratelimit-remaining']).toMatch(/^\d+$/);
    expect(headers['request-id']).toMatch(/^[0-9a-f-]{36}$/);
  }
});

test('an ETag and If-None-Match give a 304 with no body, as Heroku sends it', async () => {
  const first = await send(proxy.urls.heroku!, { path: '/account' });
  expect(first.headers.etag).toBe(heroku.accountEtag);
  expect(first.headers['cache-control']).toBe('private, no-cache');
  const second = await send(proxy.urls.heroku!, {
    path: '/account',
    headers: { 'if-none-match': heroku.accountEtag },
  });
  expect(second.status).toBe(304);
  expect(second.body).toHaveLength(0);
  expect(second.headers.etag).toBe(heroku.accountEtag);
});

test('a PATCH with a JSON body reaches Heroku, and an error body comes back as Heroku wrote it', async () => {
  const patched = await send(proxy.urls.heroku!, {
    method: 'PATCH',
    path: `/apps/${heroku.apps[0]!.name}`,
    headers: { 'content-type': 'application/json' },
    body: '{"maintenance":true}',
  });
  expect(patched.status).toBe(200);
  expect(patched.json()).toMatchObject({ name: heroku.apps[0]!.name, maintenance: true });

  const missing = await send(proxy.urls.heroku!, {
    method: 'PATCH',
    path: '/apps/no-such-app',
    headers: { 'content-type': 'application/json' },
    body: '{"maintenance":true}',
  });
  expect(missing.status).toBe(404);
  expect(missing.text).toBe('{"id":"not_found","message":"Couldn\'t find that app."}');
  expect(missing.headers['atlas-error']).toBeUndefined();
});

describe('requests shaped like the Heroku CLI (HEROKU_HOST at the proxy, HEROKU_API_KEY=atlas-proxy)', () => {
  /** The headers the Heroku CLI's API client sends on every call. */
  function cliHeaders(): Record<string, string> {
    return {
      host: new URL(proxy.urls.heroku!).host,
      accept: HEROKU_ACCEPT,
      authorization: `Bearer ${PLACEHOLDER}`,
      'user-agent': 'heroku/10.0.0 linux-x64 node-v20.19.0',
      'content-type': 'application/json',
      'accept-encoding': 'gzip,deflate',
      connection: 'close',
    };
  }

  test('GET /account answers the account; the placeholder never reaches the gateway or Heroku', async () => {
    const before = heroku.seen.length;
    const res = await send(proxy.urls.heroku!, { path: '/account?cli=1', headers: cliHeaders() });
    expect(res.status).toBe(200);
    expect(res.text).toBe(heroku.accountBody);
    const [arrived] = gatewayRequestsFor('heroku', '/account?cli=1');
    expect(arrived!.headers.authorization).toBe(`Bearer ${CALLER_TOKEN}`);
    expect(arrived!.headers['user-agent']).toBe('heroku/10.0.0 linux-x64 node-v20.19.0');
    expect(arrived!.rawHeaders.join('\n')).not.toContain(PLACEHOLDER);
    expect(heroku.seen.slice(before).flatMap((seen) => seen.rawHeaders)).not.toContain(`Bearer ${PLACEHOLDER}`);
  });

  test('`heroku apps` walks every page of GET /apps from Range: id ..; max=1000', async () => {
    const res = await send(proxy.urls.heroku!, {
      path: '/apps',
      headers: { ...cliHeaders(), range: 'id ..; max=1000' },
    });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual(heroku.apps);
  });
});

describe('streaming', () => {
  test.each([
    ['Transfer-Encoding: chunked', {}],
    ['Content-Length', { 'content-length': String(FIRST.length + REST.length) }],
  ])(
    'an 8 MiB upload with %s reaches the upstream while it is still being sent',
    async (_framing, framing: Record<string, string>) => {
      const url = new URL(proxy.urls.bulk!);
      const request = http.request({
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/upload',
        headers: { 'content-type': 'application/octet-stream', ...framing },
        agent: false,
      });
      const response = once(request, 'response') as Promise<[http.IncomingMessage]>;
      const firstArrived = new Promise<void>((resolve) => {
        const onUploaded = (bytes: number) => {
          if (bytes < FIRST.length) return;
          bulkEvents.off('uploaded', onUploaded);
          resolve();
        };
        bulkEvents.on('uploaded', onUploaded);
      });
      request.write(FIRST);
      // The rest is only sent once the first MiB is at the upstream: a proxy that buffers never gets there.
      await within(firstArrived, 10_000, 'the first MiB at the upstream before the rest is sent');
      request.end(REST);
      const [res] = await response;
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      expect(res.statusCode).toBe(201);
      expect(JSON.parse(Buffer.concat(chunks).toString('utf8'))).toEqual({
        bytes: FIRST.length + REST.length,
        sha256: sha256(FIRST, REST),
      });
    },
  );

  test('an 8 MiB download reaches the client while the upstream is still writing it', async () => {
    const url = new URL(proxy.urls.bulk!);
    const request = http.get({ host: url.hostname, port: url.port, path: '/download', agent: false });
    const [res] = (await once(request, 'response')) as [http.IncomingMessage];
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-total']).toBe(String(FIRST.length + REST.length));
    const hash = createHash('sha256');
    let received = 0;
    let released = false;
    const done = new Promise<void>((resolve, reject) => {
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        received += chunk.length;
        // The upstream writes the rest only once the first MiB got here: a proxy that buffers never gets there.
        if (!released && received >= FIRST.length) {
          released = true;
          bulkEvents.emit('release');
        }
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
    await within(done, 15_000, 'the whole download');
    expect(received).toBe(FIRST.length + REST.length);
    expect(hash.digest('hex')).toBe(sha256(FIRST, REST));
  });
});

describe('refusals of requests a web page could make on another site’s behalf', () => {
  test.each([
    [
      'a foreign Host (DNS rebinding)',
      '/refused-host',
      { host: 'rebind.attacker.example' },
      /Host "rebind\.attacker\.example"/,
    ],
    [
      'a foreign Host with the port',
      '/refused-host-port',
      { host: 'rebind.attacker.example:5000' },
      /is not this machine/,
    ],
    [
      'a foreign Origin',
      '/refused-origin',
      { origin: 'https://attacker.example' },
      /Origin "https:\/\/attacker\.example"/,
    ],
    ['Origin: null', '/refused-null-origin', { origin: 'null' }, /Origin "null"/],
    [
      'Sec-Fetch-Site: cross-site',
      '/refused-fetch-site',
      { 'sec-fetch-site': 'cross-site' },
      /Sec-Fetch-Site: cross-site/,
    ],
  ])(
    '%s: 403 JSON, one stderr line, nothing sent to the gateway',
    async (_case, path, headers: Record<string, string>, line) => {
      const res = await send(proxy.urls.echo!, {
        path,
        headers: { authorization: `Bearer ${PLACEHOLDER}`, ...headers },
      });
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.headers['atlas-error']).toBe('forbidden');
      expect(res.json()).toEqual({
        id: 'forbidden',
        message: expect.stringMatching(/^atlas proxy refused the request: /),
      });
      expect(res.json<{ message: string }>().message).toMatch(line);
      // stderr is a pipe of its own: the line may arrive after the response.
      await proxy.waitForStderr(new RegExp(`GET ${path}:`));
      const lines = proxy.stderrLines().filter((entry) => entry.includes(`GET ${path}:`));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^atlas proxy: GET \/[a-z-]+: refused: /);
      expect(lines[0]).toMatch(line);
      expect(gatewayRequestsFor('echo', path)).toHaveLength(0);
    },
  );

  test.each([
    ['Host: localhost with the port', { host: 'localhost:5000' }],
    ['Host: 127.0.0.1 with the port', { host: '127.0.0.1:5000' }],
    ['a loopback Origin', { origin: 'http://localhost:3000' }],
    ['Sec-Fetch-Site: same-origin', { 'sec-fetch-site': 'same-origin' }],
    ['Sec-Fetch-Site: none (typed into the address bar)', { 'sec-fetch-site': 'none' }],
  ])('%s is forwarded', async (_case, headers: Record<string, string>) => {
    const res = await send(proxy.urls.echo!, { path: '/allowed', headers });
    expect(res.status).toBe(200);
  });
});

describe("the gateway's errors are forwarded as they are", () => {
  test("a 401 of Heroku itself (the gateway's Heroku key is wrong) is forwarded and named on stderr", async () => {
    const res = await send(proxy.urls['heroku-wrong-key']!, { path: '/account?wrong-key=1' });
    expect(res.status).toBe(401);
    expect(res.json()).toEqual({ id: 'unauthorized', message: 'Invalid credentials provided.' });
    expect(res.headers['atlas-error']).toBeUndefined();
    await proxy.waitForStderr(/GET \/account: heroku-wrong-key itself answered 401/);
  });

  test('an adapter-route error of the gateway (405 for TRACE) is forwarded with its Allow and Atlas-Error', async () => {
    const direct = await send(gateway.url, {
      method: 'TRACE',
      path: '/v1/apis/http/echo/x',
      headers: { authorization: `Bearer ${CALLER_TOKEN}` },
    });
    const res = await send(proxy.urls.echo!, { method: 'TRACE', path: '/x' });
    expect(res.status).toBe(405);
    expect(res.text).toBe(direct.text);
    expect(res.headers.allow).toBe(direct.headers.allow);
    expect(res.headers['atlas-error']).toBe('method_not_allowed');
  });
});

test('a request line that is not a path (the proxy used as an HTTP proxy) gets a 400 naming the base-URL use', async () => {
  const res = await send(proxy.urls.heroku!, { path: 'http://api.heroku.com/account' });
  expect(res.status).toBe(400);
  expect(res.json()).toEqual({
    id: 'bad_request',
    message: expect.stringContaining('use it as the API base URL (HEROKU_HOST=http://'),
  });
});

test('a client that gives up midway through an upload: the request is cut at the gateway and upstream, the proxy serves on', async () => {
  const url = new URL(proxy.urls.echo!);
  const request = http.request({
    host: url.hostname,
    port: url.port,
    method: 'PUT',
    path: '/abandoned',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(FIRST.length * 4) },
    agent: false,
  });
  request.on('error', () => undefined);
  request.write(FIRST);
  await within(
    new Promise<void>((resolve) => {
      const check = () => (gatewayRequestsFor('echo', '/abandoned').length > 0 ? resolve() : setTimeout(check, 10));
      check();
    }),
    10_000,
    'the upload at the gateway',
  );
  request.destroy();
  // The echo upstream reports nothing for a request whose body never ended; the next one is served as usual.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const after = await send(proxy.urls.echo!, { path: '/after-abandoned' });
  expect(after.status).toBe(200);
  expect(echo.seen.some((seen) => seen.url === '/abandoned')).toBe(false);
});
