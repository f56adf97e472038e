import { CALLER_AUTH, startGateway, type InProcessGateway } from '../helpers/gateway';
import { send } from '../helpers/http';
import { startUpstream, type Upstream } from '../helpers/upstreams';

/**
 * Atlas's error ids are words upstreams use too (Heroku answers
 * `{"id":"unauthorized"}` and `{"id":"not_found"}`), so a client must be able
 * to tell who said it: the gateway's own error responses carry
 * `Atlas-Error`, proxied ones never do. An upstream 401 or 403 passes through
 * untouched, and its log line tells the operator the adapter's key was refused.
 */

const HEROKU_401 = JSON.stringify({ id: 'unauthorized', message: 'Invalid credentials provided.' });

let upstream: Upstream;
let gateway: InProcessGateway;

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    if (req.url === '/revoked') {
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': 'Bearer realm="heroku"',
        'ratelimit-remaining': '4499',
        'content-length': Buffer.byteLength(HEROKU_401),
      });
      res.end(HEROKU_401);
    } else if (req.url === '/forbidden') {
      res.writeHead(403, { 'content-type': 'application/json' }).end('{"id":"forbidden"}');
    } else if (req.url === '/spoofed') {
      res
        .writeHead(404, { 'atlas-error': 'adapter_not_found', 'content-type': 'application/json' })
        .end('{"id":"not_found"}');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    }
  });
  gateway = await startGateway({
    adapters: [
      { name: 'heroku', baseUrl: upstream.url, allowedMethods: ['GET'] },
      { name: 'down', baseUrl: 'http://127.0.0.1:1' },
    ],
  });
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

test.each([
  ['a caller without credentials', '/v1/apis/http/heroku/account', 'GET', {}, 401, 'unauthorized'],
  ['an unknown route', '/v2/nothing', 'GET', CALLER_AUTH, 404, 'not_found'],
  ['an unknown adapter', '/v1/apis/http/nope/x', 'GET', CALLER_AUTH, 404, 'adapter_not_found'],
  ['a method the adapter does not allow', '/v1/apis/http/heroku/x', 'DELETE', CALLER_AUTH, 405, 'method_not_allowed'],
  ['a dot segment', '/v1/apis/http/heroku/a/../b', 'GET', CALLER_AUTH, 400, 'bad_request'],
  ['an upstream that refuses connections', '/v1/apis/http/down/x', 'GET', CALLER_AUTH, 502, 'bad_gateway'],
])('the gateway own error for %s carries Atlas-Error with its id', async (_case, path, method, headers, status, id) => {
  const res = await send(gateway.url, { path, method, headers });
  expect(res.status).toBe(status);
  expect(res.headers['atlas-error']).toBe(id);
  expect(res.json()).toMatchObject({ id });
});

test('an upstream 401 passes through untouched, without Atlas-Error, and is logged at warn as a rejected adapter credential', async () => {
  const res = await send(gateway.url, { path: '/v1/apis/http/heroku/revoked', headers: CALLER_AUTH });
  expect(res.status).toBe(401);
  expect(res.text).toBe(HEROKU_401);
  expect(res.headers['www-authenticate']).toBe('Bearer realm="heroku"');
  expect(res.headers['ratelimit-remaining']).toBe('4499');
  expect(res.headers['atlas-error']).toBeUndefined();

  const line = gateway.logs().find((entry) => entry.requestId === res.headers['x-request-id'])!;
  expect(line).toMatchObject({
    level: 'warn',
    msg: 'request',
    adapter: 'heroku',
    status: 401,
    upstreamRejected: 'the upstream rejected the credentials of adapter "heroku"',
  });
  expect(line.error).toBeUndefined();
});

test('an upstream 403 is logged at warn the same way', async () => {
  const res = await send(gateway.url, { path: '/v1/apis/http/heroku/forbidden', headers: CALLER_AUTH });
  expect(res.status).toBe(403);
  const line = gateway.logs().find((entry) => entry.requestId === res.headers['x-request-id'])!;
  expect(line).toMatchObject({ level: 'warn', status: 403, upstreamRejected: expect.stringContaining('"heroku"') });
});

test("the gateway's own 401 is logged at info, with its error id, not as a rejected adapter credential", async () => {
  const res = await send(gateway.url, { path: '/v1/apis/http/heroku/account' });
  const line = gateway.logs().find((entry) => entry.requestId === res.headers['x-request-id'])!;
  expect(line).toMatchObject({ level: 'info', status: 401, error: 'unauthorized' });
  expect(line.upstreamRejected).toBeUndefined();
});

test('an Atlas-Error header sent by an upstream is dropped', async () => {
  const res = await send(gateway.url, { path: '/v1/apis/http/heroku/spoofed', headers: CALLER_AUTH });
  expect(res.status).toBe(404);
  expect(res.headers['atlas-error']).toBeUndefined();
  expect(res.json()).toEqual({ id: 'not_found' });
});
