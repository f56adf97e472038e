import type { OutgoingHttpHeaders } from 'node:http';
import { refusedUrl } from '../helpers/fault-upstreams';
import { spawnGateway, stopGateway, type GatewayProcess } from '../helpers/gateway';
import { type Received, send } from '../helpers/http';
import { startUpstream, type Upstream } from '../helpers/upstreams';

/**
 * Per-caller rate limits against a real gateway process: 3 requests per 2
 * seconds per caller on a Heroku-like upstream that sends its own
 * RateLimit-Remaining (and an IETF RateLimit field of its own).
 */

const CI = 'ci-token-5f0c2e9b7d13a4c68e21f0b9d7a3c5e1';
const OPS = 'ops-token-91d3e7a0c2f84b6d0e5a7c9b1f3d5e7a';

let upstream: Upstream;
let gateway: GatewayProcess;

beforeAll(async () => {
  upstream = await startUpstream((_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'ratelimit-remaining': '4321',
      ratelimit: '"heroku";r=4321;t=3600',
    });
    res.end('{}');
  });
  gateway = await spawnGateway({
    ATLAS_ACCESS_TOKENS: `ci=${CI},ops=${OPS}`,
    ATLAS_ADAPTERS: JSON.stringify([
      { name: 'heroku', baseUrl: upstream.url, rateLimit: { requests: 3, perSeconds: 60 } },
      { name: 'down', baseUrl: await refusedUrl(), rateLimit: { requests: 100, perSeconds: 60 } },
      { name: 'unlimited', baseUrl: upstream.url },
    ]),
  });
  expect(gateway.url).not.toBe('');
});

afterAll(async () => {
  await stopGateway(gateway);
  await upstream.close();
});

const as = (token: string): OutgoingHttpHeaders => ({ authorization: `Bearer ${token}` });

/** The values of one header, in order, as separate field lines. */
function fieldLines(res: Received, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    if (res.rawHeaders[i]!.toLowerCase() === name) values.push(res.rawHeaders[i + 1]!);
  }
  return values;
}

test('over its limit a caller gets 429 rate_limited with Retry-After, the upstream untouched, other callers unaffected', async () => {
  const before = upstream.seen.length;
  const answers: Received[] = [];
  for (let i = 0; i < 4; i++)
    answers.push(await send(gateway.url, { path: '/v1/apis/http/heroku/apps', headers: as(CI) }));

  expect(answers.map(({ status }) => status)).toEqual([200, 200, 200, 429]);
  expect(upstream.seen).toHaveLength(before + 3);

  // Atlas's own limit in the IETF fields; the upstream's headers pass through untouched beside them.
  // One request back per 20 s: t is the seconds until the bucket is full again (a second less if one has passed).
  expect(answers.slice(0, 3).map((res) => fieldLines(res, 'ratelimit'))).toEqual([
    ['"heroku";r=4321;t=3600', expect.stringMatching(/^"atlas";r=2;t=(19|20)$/)],
    ['"heroku";r=4321;t=3600', expect.stringMatching(/^"atlas";r=1;t=(39|40)$/)],
    ['"heroku";r=4321;t=3600', expect.stringMatching(/^"atlas";r=0;t=(59|60)$/)],
  ]);
  for (const res of answers.slice(0, 3)) {
    expect(fieldLines(res, 'ratelimit-policy')).toEqual(['"atlas";q=3;w=60']);
    expect(res.headers['ratelimit-remaining']).toBe('4321');
  }

  const refused = answers[3]!;
  expect(refused.headers['atlas-error']).toBe('rate_limited');
  expect(refused.json()).toEqual({
    id: 'rate_limited',
    message: expect.stringMatching(
      /^Caller "token:ci" is over its rate limit for adapter "heroku"; retry in (19|20) s\.$/,
    ) as unknown,
  });
  expect(refused.headers['retry-after']).toMatch(/^(19|20)$/);
  expect(refused.headers['ratelimit-policy']).toBe('"atlas";q=3;w=60');
  expect(refused.headers.ratelimit).toMatch(/^"atlas";r=0;t=(59|60)$/);
  // A 429 of the gateway's never carries the upstream's figures.
  expect(refused.headers['ratelimit-remaining']).toBeUndefined();

  const other = await send(gateway.url, { path: '/v1/apis/http/heroku/apps', headers: as(OPS) });
  expect(other.status).toBe(200);
  const unlimited = await send(gateway.url, { path: '/v1/apis/http/unlimited/apps', headers: as(CI) });
  expect(unlimited.status).toBe(200);
  expect(unlimited.headers.ratelimit).toBe('"heroku";r=4321;t=3600');
  expect(unlimited.headers['ratelimit-policy']).toBeUndefined();

  // Still over the limit until Retry-After has passed (the refill itself: rate-limiter.test.ts, on a clock of its own).
  const again = await send(gateway.url, { path: '/v1/apis/http/heroku/apps', headers: as(CI) });
  expect(again.status).toBe(429);
  // Forwarded: ci's three, ops's one and the unlimited adapter's one; never a refused one.
  expect(upstream.seen).toHaveLength(before + 5);
});

test('the gateway error of a limited adapter carries its RateLimit fields too', async () => {
  const res = await send(gateway.url, { path: '/v1/apis/http/down/x', headers: as(CI) });
  expect(res.status).toBe(502);
  expect(res.headers['ratelimit-policy']).toBe('"atlas";q=100;w=60');
  expect(res.headers.ratelimit).toBe('"atlas";r=99;t=1');
});

test('a 429 is logged at info with the caller and the error id', async () => {
  let refused: Received | undefined;
  for (let i = 0; i < 5 && refused === undefined; i++) {
    const res = await send(gateway.url, { path: '/v1/apis/http/heroku/apps', headers: as(OPS) });
    if (res.status === 429) refused = res;
  }
  expect(refused).toBeDefined();
  const requestId = refused!.headers['x-request-id'];
  // The line is written as the response closes, which can trail the client's view of it.
  let line: Record<string, unknown> | undefined;
  for (let attempt = 0; attempt < 500 && line === undefined; attempt++) {
    line = gateway
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((text) => JSON.parse(text) as Record<string, unknown>)
      .find((entry) => entry.requestId === requestId);
    if (line === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(line).toMatchObject({ level: 'info', status: 429, error: 'rate_limited', caller: 'token:ops' });
});
