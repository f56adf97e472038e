import { createHash } from 'node:crypto';
import { createAtlasClient } from '../../cli/src/client';
import { CALLER_TOKEN, type InProcessGateway, startGateway } from '../helpers/gateway';
import { type Seen, type Upstream, startEchoUpstream, startUpstream } from '../helpers/upstreams';

type ClientModule = typeof import('../../cli/src/client');

let echo: Upstream;
let gateway: InProcessGateway;
/** Stands in for a gateway where the test must see exactly what the client sent. */
let recorder: Upstream;

beforeAll(async () => {
  echo = await startEchoUpstream();
  recorder = await startEchoUpstream();
  gateway = await startGateway({ adapters: [{ name: 'echo', baseUrl: echo.url }] });
});

afterAll(async () => {
  await gateway?.close();
  await echo?.close();
  await recorder?.close();
});

/** A fresh copy of the client module, so the client atlasProxyFetch remembers starts unset. */
function freshClientModule(): ClientModule {
  let loaded: ClientModule | undefined;
  jest.isolateModules(() => {
    loaded = jest.requireActual<ClientModule>('../../cli/src/client');
  });
  return loaded!;
}

async function withEnv<T>(env: Record<string, string | undefined>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) Reflect.deleteProperty(process.env, key);
      else process.env[key] = value;
    }
  };
  apply(env);
  try {
    return await body();
  } finally {
    apply(saved);
  }
}

test('fetch of an adapter path goes through the real gateway, which accepts the token', async () => {
  const atlas = createAtlasClient({ url: gateway.url, token: CALLER_TOKEN });
  const response = await atlas.fetch('/v1/apis/http/echo/account?page=2');
  expect(response.status).toBe(200);
  expect(((await response.json()) as Seen).url).toBe('/account?page=2');

  const wrong = createAtlasClient({ url: gateway.url, token: 'not-the-token' });
  expect((await wrong.fetch('/v1/apis/http/echo/account')).status).toBe(401);
});

test('the token is sent as Authorization: Bearer <token>', async () => {
  const atlas = createAtlasClient({ url: recorder.url, token: 'tok-123' });
  const seen = (await (await atlas.fetch('/v1/apis')).json()) as Seen;
  expect(seen.headers.authorization).toBe('Bearer tok-123');
});

test('method, body and init headers are kept through the gateway', async () => {
  const atlas = createAtlasClient({ url: gateway.url, token: CALLER_TOKEN });
  const body = JSON.stringify({ maintenance: true });
  const response = await atlas.fetch('/v1/apis/http/echo/apps/a', {
    method: 'PATCH',
    body,
    headers: { 'Content-Type': 'application/json', 'X-Trace': 'abc' },
  });
  const seen = (await response.json()) as Seen;
  expect(seen.method).toBe('PATCH');
  expect(seen.bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
  expect(seen.headers['content-type']).toBe('application/json');
  expect(seen.headers['x-trace']).toBe('abc');
});

test.each([
  ['a plain object', { Authorization: 'Bearer attacker', 'X-Kept': '1' }],
  ['a Headers instance', new Headers({ authorization: 'Basic eDp5', 'x-kept': '1' })],
  [
    'an array of pairs',
    [
      ['AUTHORIZATION', 'Bearer attacker'],
      ['X-Kept', '1'],
    ] as [string, string][],
  ],
])('init headers given as %s are kept, but cannot override Authorization', async (_form, headers) => {
  const atlas = createAtlasClient({ url: recorder.url, token: 'tok-123' });
  const seen = (await (await atlas.fetch('/v1/apis', { headers })).json()) as Seen;
  expect(seen.headers.authorization).toBe('Bearer tok-123');
  expect(seen.headers['x-kept']).toBe('1');
  expect(seen.rawHeaders.filter((name) => name.toLowerCase() === 'authorization')).toHaveLength(1);
});

test.each([
  ['/atlas', '/v1/apis/http/heroku/account', '/atlas/v1/apis/http/heroku/account'],
  ['/atlas/', '/v1/apis/http/heroku/account', '/atlas/v1/apis/http/heroku/account'],
  ['/atlas', 'v1/apis?x=1', '/atlas/v1/apis?x=1'],
  ['/team/atlas', '/v1/apis', '/team/atlas/v1/apis'],
  ['', '/v1/apis', '/v1/apis'],
])('a gateway URL with path %j resolves %j to %j', async (prefix, path, expected) => {
  const atlas = createAtlasClient({ url: `${recorder.url}${prefix}`, token: 't' });
  const seen = (await (await atlas.fetch(path)).json()) as Seen;
  expect(seen.url).toBe(expected);
});

test('absolute URLs to another origin reject, and that server receives nothing', async () => {
  const other = await startUpstream((_req, res) => res.end('should not be reached'));
  try {
    const atlas = createAtlasClient({ url: gateway.url, token: CALLER_TOKEN });
    const host = new URL(other.url).host;
    for (const target of [`${other.url}/steal`, new URL('/steal', other.url), `//${host}/steal`, `/\\${host}/steal`]) {
      await expect(atlas.fetch(target)).rejects.toThrow(/refusing to send the Atlas token/);
    }
    // Another port on the same host is another origin.
    const otherPort = createAtlasClient({ url: `http://127.0.0.1:${new URL(echo.url).port}`, token: 't' });
    await expect(otherPort.fetch(`${other.url}/steal`)).rejects.toThrow(/refusing/);
    expect(other.seen).toEqual([]);
  } finally {
    await other.close();
  }
});

test('an absolute URL on the gateway origin is allowed', async () => {
  const atlas = createAtlasClient({ url: gateway.url, token: CALLER_TOKEN });
  const response = await atlas.fetch(`${gateway.url}/v1/apis/http/echo/same-origin`);
  expect(response.status).toBe(200);
  expect(((await response.json()) as Seen).url).toBe('/same-origin');
});

test('an unparsable URL rejects like fetch instead of throwing', async () => {
  const atlas = createAtlasClient({ url: gateway.url, token: CALLER_TOKEN });
  // Node's URL errors come from another realm than jest's TypeError, so compare by name.
  await expect(atlas.fetch('http://[not-a-host')).rejects.toMatchObject({ name: 'TypeError' });
});

test('createAtlasClient refuses a non-http URL and an empty token', () => {
  expect(() => createAtlasClient({ url: 'ftp://atlas.example', token: 't' })).toThrow(/http/);
  expect(() => createAtlasClient({ url: gateway.url, token: '' })).toThrow(/token/);
});

test('atlasProxyFetch uses the client given to configureAtlas, over ATLAS_URL and ATLAS_TOKEN', async () => {
  const client = freshClientModule();
  await withEnv({ ATLAS_URL: recorder.url, ATLAS_TOKEN: 'env-token' }, async () => {
    client.configureAtlas({ url: gateway.url, token: CALLER_TOKEN });
    const response = await client.atlasProxyFetch('/v1/apis/http/echo/configured');
    expect(response.status).toBe(200);
    expect(((await response.json()) as Seen).url).toBe('/configured');
  });
});

test('atlasProxyFetch falls back to ATLAS_URL and ATLAS_TOKEN', async () => {
  const client = freshClientModule();
  await withEnv({ ATLAS_URL: recorder.url, ATLAS_TOKEN: 'env-token' }, async () => {
    const seen = (await (await client.atlasProxyFetch('/v1/apis')).json()) as Seen;
    expect(seen.headers.authorization).toBe('Bearer env-token');
  });
});

test.each([
  ['neither is set', { ATLAS_URL: undefined, ATLAS_TOKEN: undefined }],
  ['only ATLAS_URL is set', { ATLAS_URL: 'http://127.0.0.1:1', ATLAS_TOKEN: undefined }],
  ['ATLAS_TOKEN is empty', { ATLAS_URL: 'http://127.0.0.1:1', ATLAS_TOKEN: '' }],
])('atlasProxyFetch without configureAtlas rejects with a clear message when %s', async (_what, env) => {
  const client = freshClientModule();
  await withEnv(env, async () => {
    await expect(client.atlasProxyFetch('/v1/apis')).rejects.toThrow(
      /call configureAtlas\(\{ url, token \}\) first, or set ATLAS_URL and ATLAS_TOKEN/,
    );
  });
});

test('atlasProxyFetch rejects absolute URLs to other origins too', async () => {
  const client = freshClientModule();
  client.configureAtlas({ url: gateway.url, token: CALLER_TOKEN });
  await expect(client.atlasProxyFetch(`${recorder.url}/steal`)).rejects.toThrow(/refusing/);
  expect(recorder.seen.some((seen) => seen.url === '/steal')).toBe(false);
});
