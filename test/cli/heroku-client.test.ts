import http from 'node:http';
import Heroku from 'heroku-client';
import { type AtlasProxy, startAtlasProxy } from '../helpers/atlas-proxy';
import { HEROKU_ACCEPT, startFakeHeroku, type FakeHeroku, type HerokuApp } from '../helpers/fake-heroku';
import { CALLER_TOKEN, startGateway, type InProcessGateway } from '../helpers/gateway';

/**
 * The real heroku-client, unmodified, against a fake Heroku that only answers
 * the real key: once through `atlas proxy` (the client holds a placeholder
 * key) and once through a host-routed adapter (the client holds the Atlas
 * token and sends it, as it sends every token, as Basic credentials).
 */

const HEROKU_API_KEY = 'heroku-oauth-token-7a6b5c4d-3e2f-1a0b-9c8d-7e6f5a4b3c2d';
const PLACEHOLDER = 'atlas-proxy';
/** The host name the heroku adapter is served at, as a DNS record would point it at the gateway. */
const HOST = 'heroku.atlas.test';

interface GatewayRequest {
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
}

let heroku: FakeHeroku;
let gateway: InProcessGateway;
let proxy: AtlasProxy;
const atGateway: GatewayRequest[] = [];

beforeAll(async () => {
  heroku = await startFakeHeroku({ token: HEROKU_API_KEY, appCount: 5 });
  gateway = await startGateway({
    adapters: [
      {
        name: 'heroku',
        baseUrl: heroku.url,
        headers: [
          { name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' },
          { name: 'Accept', value: HEROKU_ACCEPT },
        ],
        hostnames: [HOST],
      },
    ],
    env: { HEROKU_API_KEY },
  });
  gateway.server.prependListener('request', (req: http.IncomingMessage) => {
    atGateway.push({ url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders });
  });
  proxy = await startAtlasProxy(['heroku:0', '--url', gateway.url, '--token', CALLER_TOKEN]);
});

afterAll(async () => {
  await proxy?.kill();
  await gateway?.close();
  await heroku?.close();
});

interface Route {
  /** A client as its user would set it up. */
  client(token?: string): Heroku;
  /** The path the gateway receives for a Heroku path. */
  gatewayPath(path: string): string;
  /** How the caller's credentials reach the gateway. */
  readonly gatewayAuthorization: string;
}

const ROUTES: Record<string, Route> = {
  'atlas proxy (HEROKU_API_KEY=atlas-proxy)': {
    client: (token = PLACEHOLDER) => new Heroku({ host: proxy.urls.heroku!, token }),
    gatewayPath: (path) => `/v1/apis/http/heroku${path}`,
    gatewayAuthorization: `Bearer ${CALLER_TOKEN}`,
  },
  [`the host-routed adapter at ${HOST} (the Atlas token as Basic credentials)`]: {
    // heroku-client builds its own http.Agent for each request and takes no DNS
    // lookup, but it merges its `headers` option into every request, Host
    // included: so it connects to the gateway on 127.0.0.1 and names the host as
    // a resolver pointing HOST at the gateway would have it do, with no DNS query.
    client: (token = CALLER_TOKEN) =>
      new Heroku({ host: gateway.url, token, headers: { Host: `${HOST}:${new URL(gateway.url).port}` } }),
    gatewayPath: (path) => path,
    gatewayAuthorization: `Basic ${Buffer.from(`:${CALLER_TOKEN}`).toString('base64')}`,
  },
};

/** Marks a request so the test can find what the gateway and the fake saw of it. */
let marker = 0;
function marked(path: string): string {
  marker += 1;
  return `${path}?marker=${marker}`;
}

describe.each(Object.entries(ROUTES))('heroku-client through %s', (_route, route) => {
  test('GET /account resolves to the account; only the gateway sees the caller credentials, only Heroku the key', async () => {
    const path = marked('/account');
    const account = await route.client().get<Record<string, unknown>>(path);
    expect(account).toEqual(JSON.parse(heroku.accountBody));

    const arrived = atGateway.filter((request) => request.url === route.gatewayPath(path));
    expect(arrived).toHaveLength(1);
    expect(arrived[0]!.headers.authorization).toBe(route.gatewayAuthorization);
    expect(arrived[0]!.headers['user-agent']).toBe('node-heroku-client/3.1.4');
    expect(arrived[0]!.rawHeaders.join('\n')).not.toContain(PLACEHOLDER);

    const atHeroku = heroku.seen.filter((request) => request.url === path);
    expect(atHeroku).toHaveLength(1);
    expect(atHeroku[0]!.headers.authorization).toBe(`Bearer ${HEROKU_API_KEY}`);
    expect(atHeroku[0]!.headers.accept).toBe(HEROKU_ACCEPT);
    const sent = atHeroku[0]!.rawHeaders.join('\n');
    expect(sent).not.toContain(PLACEHOLDER);
    expect(sent).not.toContain(CALLER_TOKEN);
    expect(sent).not.toContain(Buffer.from(`:${CALLER_TOKEN}`).toString('base64'));
  });

  test("GET /apps walks every page along Heroku's Next-Range and resolves to all the apps", async () => {
    const before = heroku.seen.length;
    const apps = await route.client().get<HerokuApp[]>('/apps', { headers: { Range: 'id ..; max=2' } });
    expect(apps).toEqual(heroku.apps);
    const pages = heroku.seen.slice(before).filter((request) => request.url === '/apps');
    expect(pages.map((request) => request.headers.range)).toEqual([
      'id ..; max=2',
      `id ]${heroku.apps[1]!.id}..; max=2`,
      `id ]${heroku.apps[3]!.id}..; max=2`,
    ]);
  });

  test('GET /apps with the client default Range (max=1000) is one page', async () => {
    const apps = await route.client().get<HerokuApp[]>('/apps');
    expect(apps).toEqual(heroku.apps);
  });

  test('PATCH with a JSON body resolves to the app Heroku answers', async () => {
    const app = heroku.apps[2]!;
    const patched = await route.client().patch(`/apps/${app.name}`, { body: { maintenance: true } });
    expect(patched).toEqual({ ...app, maintenance: true, updated_at: '2024-02-01T12:00:00Z' });
  });

  test("PATCH of an unknown app rejects with Heroku's 404 and its error body", async () => {
    const error = await route
      .client()
      .patch('/apps/no-such-app', { body: { maintenance: true } })
      .then(
        () => undefined,
        (reason: Heroku.HerokuClientError) => reason,
      );
    expect(error).toBeDefined();
    expect(error!.statusCode).toBe(404);
    expect(error!.body).toEqual({ id: 'not_found', message: "Couldn't find that app." });
  });

  test("PATCH with a body that is no JSON object rejects with Heroku's 400", async () => {
    const error = await route
      .client()
      .patch(`/apps/${heroku.apps[0]!.name}`, { body: [1, 2] })
      .then(
        () => undefined,
        (reason: Heroku.HerokuClientError) => reason,
      );
    expect(error!.statusCode).toBe(400);
    expect(error!.body).toEqual({ id: 'bad_request', message: 'Request body must be a JSON object.' });
  });
});

test("a wrong Atlas token on the host-routed adapter rejects with the gateway's 401, never reaching Heroku", async () => {
  const before = heroku.seen.length;
  const route = ROUTES[`the host-routed adapter at ${HOST} (the Atlas token as Basic credentials)`]!;
  const error = await route
    .client('not-the-atlas-token')
    .get('/account')
    .then(
      () => undefined,
      (reason: Heroku.HerokuClientError) => reason,
    );
  expect(error!.statusCode).toBe(401);
  expect(error!.body).toEqual({ id: 'unauthorized', message: 'The token is not valid.' });
  expect(heroku.seen.length).toBe(before);
});

test('the placeholder key through atlas proxy is only ever a placeholder: any value works, none is forwarded', async () => {
  const route = ROUTES['atlas proxy (HEROKU_API_KEY=atlas-proxy)']!;
  const path = marked('/account');
  const account = await route.client('anything-at-all').get(path);
  expect(account).toEqual(JSON.parse(heroku.accountBody));
  const arrived = atGateway.find((request) => request.url === `/v1/apis/http/heroku${path}`)!;
  expect(arrived.rawHeaders.join('\n')).not.toContain(Buffer.from(':anything-at-all').toString('base64'));
});
