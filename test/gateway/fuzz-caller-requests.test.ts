import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { FUZZ_SEED, fuzz } from '../helpers/fuzz';
import { bytes, chunkStream, cuts, expectAlive, expectGatewayError, pauses, token } from '../helpers/fuzz-checks';
import { CALLER_AUTH, CALLER_TOKEN, spawnGateway, stopGateway, type GatewayProcess } from '../helpers/gateway';
import {
  converse,
  headerOf,
  parseResponses,
  splitIntoPackets,
  type Packet,
  type ParsedResponses,
  type RawResponse,
} from '../helpers/raw-http';
import { startUpstream, type Upstream } from '../helpers/upstreams';

/**
 * Seeded random caller requests: methods, targets, versions, header blocks
 * and bodies, well-formed or not, cut into packets anywhere, then left open,
 * half-closed or reset. Every answer is a complete HTTP response (the
 * upstream's, or the gateway's own JSON with `Atlas-Error` for any error) or
 * the connection closes, never a hang and never the adapter's secret; and the
 * gateway keeps serving. The seed is printed on failure (see docs/development.md).
 */

const SECRET = `fuzz-caller-secret-${randomBytes(16).toString('hex')}`;
/** The shortest request timeout the gateway takes, so that a stalled request costs little. */
const REQUEST_TIMEOUT_MS = 1_000;
/** How long one case may take before it counts as a hang: generous, not a speed claim. */
const CASE_BOUND_MS = 10_000;

interface CallerCase {
  /** The method as written: a HEAD's answer has no body. */
  readonly method: string;
  readonly packets: readonly Packet[];
  readonly after: 'end' | 'reset' | 'wait';
}

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'TRACE',
      'TRACK',
      'CONNECT',
      'PROPFIND',
      'FOO',
      'get',
      'M-SEARCH',
      'PRI',
      'QUERY',
      'PURGE',
      'SEARCH',
    ),
  },
  { weight: 1, arbitrary: token(10) },
  { weight: 1, arbitrary: bytes(8) },
);

const target = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      '/healthz',
      '/v1/apis',
      '/v1/apis/http/fuzz/x',
      '/v1/apis/http/fuzz/x?q=1',
      '/v1/apis/http/reads/x',
      '/v1/apis/http/fuzz/../x',
      '/v1/apis/http/fuzz/%2e%2e/x',
      '/v1/apis/http/fuzz/a\\b',
      '/v1/apis/http/nope/x',
      '*',
      'http://user:pw@elsewhere.example/v1/apis/http/fuzz/x',
      'gateway:443',
      '/v1/apis/http/fuzz/x#frag',
    ),
  },
  { weight: 2, arbitrary: bytes(24).map((tail) => `/v1/apis/http/fuzz/${tail}`) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 20_000 }).map((length) => `/v1/apis/http/fuzz/${'a'.repeat(length)}`),
  },
);

const version = fc.oneof(
  { weight: 8, arbitrary: fc.constant('HTTP/1.1') },
  { weight: 1, arbitrary: fc.constant('HTTP/1.0') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('HTTP/2.0', 'HTTP/1.2', 'http/1.1', 'HTTP/1.1 x', '', 'HTTP/0.9', 'HTTP/1.10'),
  },
);

const eol = fc.oneof(
  { weight: 12, arbitrary: fc.constant('\r\n') },
  { weight: 1, arbitrary: fc.constantFrom('\n', '\r', '\r\r\n') },
);

const host = fc.oneof(
  { weight: 8, arbitrary: fc.constant(['Host: gateway']) },
  { weight: 1, arbitrary: fc.constant([]) },
  { weight: 1, arbitrary: fc.constantFrom(['Host: a', 'Host: b'], ['Host: evil.example'], ['Host:'], ['Host: a b']) },
  { weight: 1, arbitrary: bytes(12).map((value) => [`Host: ${value}`]) },
);

const authorization = fc.oneof(
  { weight: 6, arbitrary: fc.constant([`Authorization: ${CALLER_AUTH.authorization}`]) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      [],
      ['Authorization: Bearer wrong'],
      ['Authorization: Basic Zm9vOmJhcg=='],
      [`Authorization: ${CALLER_AUTH.authorization}`, 'Authorization: Bearer other'],
    ),
  },
);

const header = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.oneof(
      fc
        .constantFrom('100-continue', '100-Continue', 'foo', '200-ok', '', 'x, 100-continue')
        .map((v) => `Expect: ${v}`),
      bytes(8).map((value) => `Expect: ${value}`),
      fc.constantFrom('-1', 'abc', '1e2', ' 5', '5, 5', '99999999999999999999', '0').map((v) => `Content-Length: ${v}`),
      fc
        .constantFrom('chunked', 'gzip', 'identity', 'chunked, gzip', 'Chunked', '')
        .map((v) => `Transfer-Encoding: ${v}`),
      fc.constantFrom(
        'Connection: close',
        'Connection: keep-alive',
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Upgrade: h2c',
        'Origin: https://evil.example',
        'Sec-Fetch-Site: cross-site',
        'Content-Type: application/json',
        'Accept: */*',
      ),
      bytes(16).map((value) => `X-Request-Id: ${value}`),
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(token(12), fc.constantFrom(': ', ':', ' : ', '', '::'), bytes(20))
      .map(([name, separator, value]) => `${name}${separator}${value}`),
  },
  { weight: 1, arbitrary: bytes(16).map((value) => `X-Folded: a\r\n ${value}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((length) => `X-Big: ${'b'.repeat(length)}`) },
);

/** The body and the headers that frame it: none, a matching length, chunked, or anything. */
const framedBody = fc.oneof(
  { weight: 3, arbitrary: fc.constant([[] as string[], ''] as const) },
  { weight: 2, arbitrary: bytes(40).map((body) => [[`Content-Length: ${body.length}`], body] as const) },
  { weight: 2, arbitrary: chunkStream.map((body) => [['Transfer-Encoding: chunked'], body] as const) },
  { weight: 1, arbitrary: bytes(40).map((body) => [[] as string[], body] as const) },
);

const callerCase: fc.Arbitrary<CallerCase> = fc
  .record({
    method,
    target,
    version,
    eol,
    host,
    authorization,
    headers: fc.oneof(fc.constant([]), fc.array(header, { maxLength: 4 })),
    framedBody,
    cuts,
    pauses,
    after: fc.oneof(
      { weight: 7, arbitrary: fc.constant('wait' as const) },
      { weight: 2, arbitrary: fc.constant('end' as const) },
      { weight: 1, arbitrary: fc.constant('reset' as const) },
    ),
  })
  .map(
    ({
      method,
      target,
      version,
      eol,
      host,
      authorization,
      headers,
      framedBody: [framing, body],
      cuts,
      pauses,
      after,
    }) => {
      const lines = [`${method} ${target} ${version}`, ...host, ...authorization, ...framing, ...headers];
      const request = `${lines.join(eol)}${eol}${eol}${body}`;
      return { method, packets: splitIntoPackets(request, cuts, pauses), after };
    },
  );

let upstream: Upstream;
let gateway: GatewayProcess;

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    req.on('error', () => {});
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-fuzz-upstream': 'yes' });
      res.end('ok');
    });
  });
  const headers = [
    { name: 'X-Api-Key', value: '${{ SECRET }}' },
    { name: 'Authorization', value: 'Bearer ${{ SECRET }}' },
  ];
  gateway = await spawnGateway({
    ATLAS_ADAPTERS: JSON.stringify([
      { name: 'fuzz', baseUrl: upstream.url, headers },
      { name: 'reads', baseUrl: upstream.url, headers, allowedMethods: ['GET'] },
    ]),
    ATLAS_ACCESS_TOKENS: CALLER_TOKEN,
    ATLAS_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    SECRET,
  });
  expect(gateway.url).not.toBe('');
});

afterAll(async () => {
  await stopGateway(gateway);
  await upstream.close();
});

/** Whether `responses[index]` is the first final (non-1xx) response. */
function isFirstFinal(responses: readonly RawResponse[], index: number): boolean {
  return responses.findIndex((response) => response.status >= 200) === index;
}

/**
 * The responses on a connection. A HEAD that Node's parser rejects is
 * answered before its method is known: a JSON body, then the close.
 */
function readAnswers(bytes: Buffer, closed: boolean, noBody: boolean): ParsedResponses & { headWithBody: boolean } {
  const parsed = parseResponses(bytes, { closed, noBody });
  if (parsed.garbage === undefined || !noBody) return { ...parsed, headWithBody: false };
  return { ...parseResponses(bytes, { closed }), headWithBody: true };
}

/** The first final answer on a connection: its status and error id, or how the connection ended without one. */
function firstAnswer(bytes: Buffer, ending: string, noBody: boolean): string {
  const { responses } = readAnswers(bytes, ending === 'closed' || ending === 'reset', noBody);
  const final = responses.find((response) => response.status >= 200 && response.complete);
  return final === undefined ? `no answer (${ending})` : `${final.status} ${headerOf(final, 'atlas-error') ?? ''}`;
}

async function runCase(request: CallerCase): Promise<void> {
  const noBody = request.method === 'HEAD';
  const answered = (bytes: Buffer) => {
    const { responses, garbage } = parseResponses(bytes, { closed: false, noBody });
    const last = responses.at(-1);
    return garbage !== undefined || (last !== undefined && last.complete && last.status >= 200);
  };
  const { bytes, ending } = await converse(gateway.url, request.packets, request.after, answered, CASE_BOUND_MS);
  expect(ending).not.toBe('hang');
  expect(bytes.includes(SECRET)).toBe(false);
  const closed = ending === 'closed' || ending === 'reset';
  const { responses, garbage, headWithBody } = readAnswers(bytes, closed, noBody);
  expect(garbage).toBeUndefined();
  if (headWithBody) {
    const final = responses.find((response) => response.status >= 200)!;
    expect(headerOf(final, 'atlas-error')).toBeDefined();
    expect(headerOf(final, 'connection')).toBe('close');
    expect(responses.at(-1)).toBe(final);
  }
  for (const [index, response] of responses.entries()) {
    if (!response.complete) {
      // Cut short: only by a connection that is gone, and never one of the gateway's own answers.
      expect(closed).toBe(true);
      expect(index).toBe(responses.length - 1);
      if (response.status !== 0) expect(headerOf(response, 'atlas-error')).toBeUndefined();
    } else if (response.status < 200) {
      expect(response.statusLine).toBe('HTTP/1.1 100 Continue');
    } else if (headerOf(response, 'x-fuzz-upstream') !== undefined) {
      expect(response.status).toBe(200);
    } else if (response.status >= 400) {
      expectGatewayError(response, undefined, noBody && !headWithBody && isFirstFinal(responses, index));
    } else {
      // The gateway's own successes: the health check and the adapter list.
      expect(response.status).toBe(200);
      expect(headerOf(response, 'content-type')).toMatch(/^application\/json/);
    }
  }
  if (request.after === 'wait' && request.packets.length > 1) {
    // The same bytes in one packet get the same answer: the gateway judges requests, not packets.
    const whole = request.packets.map((packet) => packet.bytes).join('');
    const once = await converse(gateway.url, [{ bytes: whole, pauseMs: 0 }], 'wait', answered, CASE_BOUND_MS);
    expect(firstAnswer(bytes, ending, noBody)).toBe(firstAnswer(once.bytes, once.ending, noBody));
  }
  await expectAlive(gateway);
}

test(`random caller requests get a complete answer, a JSON error or a closed connection (seed ${FUZZ_SEED})`, async () => {
  await fuzz(__filename, callerCase, runCase);
}, 300_000);

test('the secret was injected into the requests that reached the upstream and never logged', async () => {
  // One well-formed request, so that the secret was in play whatever the cases drawn.
  const exchange = await converse(
    gateway.url,
    [
      {
        bytes: `GET /v1/apis/http/fuzz/x HTTP/1.1\r\nHost: gateway\r\nAuthorization: ${CALLER_AUTH.authorization}\r\n\r\n`,
        pauseMs: 0,
      },
    ],
    'wait',
    (bytes) => parseResponses(bytes, { closed: false }).responses.at(-1)?.complete === true,
    CASE_BOUND_MS,
  );
  expect(exchange.bytes.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK/);
  expect(exchange.bytes.includes(SECRET)).toBe(false);
  expect(upstream.seen.some((seen) => seen.headers['x-api-key'] === SECRET)).toBe(true);
  expect(gateway.stdout()).not.toContain(SECRET);
  expect(gateway.stderr()).not.toContain(SECRET);
});
