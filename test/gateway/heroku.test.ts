import path from 'node:path';
import { readAdapterFile } from '../../gateway/src/config/parse-adapters';
import { CALLER_AUTH, CALLER_TOKEN, REPO_ROOT, startGateway, type InProcessGateway } from '../helpers/gateway';
import { HEROKU_ACCEPT, startFakeHeroku, type FakeHeroku, type HerokuApp } from '../helpers/fake-heroku';
import { send } from '../helpers/http';

const HEROKU_API_KEY = 'heroku-oauth-token-5f0c6a1e-2b7d-4c3e-9a8f-1d2e3f4a5b6c';

let heroku: FakeHeroku;
let gateway: InProcessGateway;

/** The dev stack's heroku adapter, exactly as `npm start` reads it, pointed at the fake. */
async function startGatewayOnDevStack(apiKey: string): Promise<InProcessGateway> {
  const { adapters } = readAdapterFile(path.join(REPO_ROOT, 'Pulumi.dev.yaml'));
  const dev = adapters.find((adapter) => adapter.name === 'heroku');
  expect(dev).toBeDefined();
  return startGateway({ adapters: [{ ...dev!, baseUrl: heroku.url }], env: { HEROKU_API_KEY: apiKey } });
}

beforeEach(async () => {
  heroku = await startFakeHeroku({ token: HEROKU_API_KEY, appCount: 5 });
  gateway = await startGatewayOnDevStack(HEROKU_API_KEY);
});

afterEach(async () => {
  await gateway.close();
  await heroku.close();
});

test('the fake refuses a request without the Heroku token and version-3 Accept (so a 200 proves injection)', async () => {
  const bare = await send(heroku.url, { path: '/account' });
  expect(bare.status).toBe(401);
  const tokenOnly = await send(heroku.url, {
    path: '/account',
    headers: { authorization: `Bearer ${HEROKU_API_KEY}` },
  });
  expect(tokenOnly.status).toBe(400);
});

test('GET /v1/apis/http/heroku/account returns the account although the caller sends no Heroku token', async () => {
  const res = await send(gateway.url, { path: '/v1/apis/http/heroku/account', headers: CALLER_AUTH });

  expect(res.status).toBe(200);
  expect(res.text).toBe(heroku.accountBody);
  expect(res.json()).toMatchObject({ email: 'username@example.com' });
  expect(res.headers['ratelimit-remaining']).toMatch(/^\d+$/);
  expect(res.headers['request-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(heroku.seen).toHaveLength(1);
  expect(heroku.seen[0]!.url).toBe('/account');
  expect(heroku.seen[0]!.headers.authorization).toBe(`Bearer ${HEROKU_API_KEY}`);
  expect(heroku.seen[0]!.headers.accept).toBe(HEROKU_ACCEPT);
});

test('an ETag from /account makes the next request with If-None-Match a 304 through the gateway', async () => {
  const first = await send(gateway.url, { path: '/v1/apis/http/heroku/account', headers: CALLER_AUTH });
  expect(first.status).toBe(200);
  const etag = first.headers.etag;
  expect(etag).toBe(heroku.accountEtag);

  const second = await send(gateway.url, {
    path: '/v1/apis/http/heroku/account',
    headers: { ...CALLER_AUTH, 'if-none-match': etag },
  });

  expect(second.status).toBe(304);
  expect(second.body).toHaveLength(0);
  expect(second.headers.etag).toBe(etag);
  expect(second.headers['ratelimit-remaining']).toMatch(/^\d+$/);
  expect(heroku.seen[1]!.headers['if-none-match']).toBe(etag);
});

test('following Next-Range through the gateway walks every page of /apps: 206, 206, then 200', async () => {
  const statuses: number[] = [];
  const contentRanges: (string | undefined)[] = [];
  const collected: HerokuApp[] = [];
  let range: string | undefined = 'id ..; max=2';

  while (range !== undefined) {
    const res = await send(gateway.url, {
      path: '/v1/apis/http/heroku/apps',
      headers: { ...CALLER_AUTH, range },
    });
    statuses.push(res.status);
    contentRanges.push(res.headers['content-range']);
    collected.push(...res.json<HerokuApp[]>());
    range = res.status === 206 ? (res.headers['next-range'] as string | undefined) : undefined;
    expect(statuses.length).toBeLessThanOrEqual(heroku.apps.length);
  }

  expect(statuses).toEqual([206, 206, 200]);
  expect(collected).toEqual(heroku.apps);
  expect(contentRanges).toEqual([
    `id ${heroku.apps[0]!.id}..${heroku.apps[1]!.id}; max=2`,
    `id ${heroku.apps[2]!.id}..${heroku.apps[3]!.id}; max=2`,
    `id ${heroku.apps[4]!.id}..${heroku.apps[4]!.id}; max=2`,
  ]);
  expect(heroku.seen.map((request) => request.headers.range)).toEqual([
    'id ..; max=2',
    `id ]${heroku.apps[1]!.id}..; max=2`,
    `id ]${heroku.apps[3]!.id}..; max=2`,
  ]);
});

test.each([
  ['Authorization: Bearer', { authorization: `Bearer ${CALLER_TOKEN}` }],
  ['Atlas-Accesstoken', { 'atlas-accesstoken': CALLER_TOKEN }],
])("the caller's Atlas token sent as %s never reaches Heroku", async (_how, credentials) => {
  const res = await send(gateway.url, { path: '/v1/apis/http/heroku/account', headers: credentials });

  expect(res.status).toBe(200);
  expect(heroku.seen).toHaveLength(1);
  const received = heroku.seen[0]!;
  expect(received.rawHeaders.join('\n')).not.toContain(CALLER_TOKEN);
  expect(received.headers['atlas-accesstoken']).toBeUndefined();
  expect(received.headers.authorization).toBe(`Bearer ${HEROKU_API_KEY}`);
});

test("Heroku's 401 for a wrong HEROKU_API_KEY reaches the caller untouched", async () => {
  await gateway.close();
  gateway = await startGatewayOnDevStack('not-the-token-heroku-issued');

  const res = await send(gateway.url, { path: '/v1/apis/http/heroku/account', headers: CALLER_AUTH });

  expect(res.status).toBe(401);
  expect(res.json()).toEqual({ id: 'unauthorized', message: 'Invalid credentials provided.' });
  expect(res.headers['request-id']).toMatch(/^[0-9a-f-]{36}$/);
});
