import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import fc from 'fast-check';
import { startRawUpstream, type RawUpstream } from '../helpers/fault-upstreams';
import { FUZZ_SEED, fuzz } from '../helpers/fuzz';
import { bytes, chunkStream, cuts, expectAlive, expectGatewayError, pauses, token } from '../helpers/fuzz-checks';
import { CALLER_AUTH, CALLER_TOKEN, spawnGateway, stopGateway, type GatewayProcess } from '../helpers/gateway';
import { converse, headerOf, parseResponses, splitIntoPackets, type Packet } from '../helpers/raw-http';

/**
 * Seeded random upstream answers: status lines, header blocks and chunk
 * streams, well-formed or not, cut into packets anywhere, then closed, reset
 * or left hanging. Whatever the upstream sends, the caller gets the relayed
 * response (cut short only by a closed connection) or the gateway's own JSON
 * error, never a hang, never garbage, never the adapter's secret; and the
 * gateway keeps serving. The seed is printed on failure (see docs/development.md).
 */

const SECRET = `fuzz-upstream-secret-${randomBytes(16).toString('hex')}`;
/** Short upstream timeouts, so that an upstream left hanging costs little. */
const UPSTREAM_TIMEOUT_MS = 500;
/** How long one case may take before it counts as a hang: generous, not a speed claim. */
const CASE_BOUND_MS = 10_000;

interface UpstreamCase {
  readonly method: 'GET' | 'HEAD' | 'POST';
  readonly packets: readonly Packet[];
  /** The final status, when the status line was written well-formed. */
  readonly status: number | undefined;
  readonly after: 'end' | 'reset' | 'stall';
}

const validStatusLine = fc
  .tuple(
    fc.constantFrom('HTTP/1.1', 'HTTP/1.0'),
    fc.integer({ min: 200, max: 599 }),
    fc.constantFrom('OK', 'Fine', '', 'Not Found'),
  )
  .map(([version, status, reason]) => ({ text: `${version} ${status} ${reason}\r\n`, status }));

const wildStatusLine = fc
  .tuple(
    fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.', 'http/1.1', 'HTTP/1.1 ', 'ICY', ''),
    fc.oneof(
      fc.integer({ min: 0, max: 999 }).map(String),
      fc.constantFrom('100', '101', '103', '204', '304', '2x0', '', '-1', '20000', '0200'),
    ),
    fc.oneof(fc.constant('OK'), bytes(12)),
    fc.constantFrom('\r\n', '\r\n', '\n', '\r', ''),
  )
  .map(([version, status, reason, eol]) => ({
    text: `${version} ${status} ${reason}${eol}`,
    status: undefined as number | undefined,
  }));

const header = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.oneof(
      fc
        .oneof(fc.nat(40).map(String), fc.constantFrom('-1', 'abc', '1e2', ' 5', '5, 5', '99999999999999999999'))
        .map((value) => `Content-Length: ${value}`),
      fc
        .constantFrom('chunked', 'gzip', 'identity', 'chunked, gzip', 'gzip, chunked', 'Chunked', 'chunked ', '')
        .map((value) => `Transfer-Encoding: ${value}`),
      fc.constantFrom('Connection: Upgrade, close', 'Upgrade: websocket', 'Trailer: X-Trailer'),
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(token(12), fc.constantFrom(': ', ':', ' : ', '', '::'), bytes(20))
      .map(([name, separator, value]) => `${name}${separator}${value}`),
  },
  { weight: 1, arbitrary: bytes(20).map((value) => `X-Folded: a\r\n ${value}`) },
);

/** How the body is framed: by the headers the case chose, by a matching length, chunked, or by the close. */
const framedBody = fc.oneof(
  fc.tuple(fc.constant([] as string[]), fc.constantFrom('', 'hello')),
  bytes(60).map((body) => [[`Content-Length: ${body.length}`], body] as const),
  chunkStream.map((body) => [['Transfer-Encoding: chunked'], body] as const),
  bytes(60).map((body) => [[] as string[], body] as const),
);

/** Headers any upstream may send: they never change the framing. */
const safeHeader = fc.constantFrom(
  'Content-Type: application/json',
  'Connection: close',
  'Connection: keep-alive',
  'Keep-Alive: timeout=0',
  'Set-Cookie: a=b; Path=/',
  'Location: /elsewhere',
  'Atlas-Error: bad_gateway',
  'X-Request-Id: forged',
  'Content-Encoding: gzip',
  'Cache-Control: no-cache',
);

const wellFramedBody = fc.oneof(
  fc.tuple(fc.constant([] as string[]), fc.constantFrom('', 'hello')),
  bytes(60).map((body) => [[`Content-Length: ${body.length}`], body] as const),
  fc
    .array(bytes(24), { maxLength: 4 })
    .map(
      (chunks) =>
        [
          ['Transfer-Encoding: chunked'],
          chunks.map((data) => `${data.length.toString(16)}\r\n${data}\r\n`).join('') + '0\r\n\r\n',
        ] as const,
    ),
);

const after = fc.oneof(
  { weight: 12, arbitrary: fc.constant('end' as const) },
  { weight: 4, arbitrary: fc.constant('reset' as const) },
  { weight: 1, arbitrary: fc.constant('stall' as const) },
);

const method = fc.constantFrom<UpstreamCase['method']>('GET', 'GET', 'GET', 'HEAD', 'POST');

/** A response the gateway should relay: a valid head, framed as it says, in random packets. */
const wellFormedAnswer = fc.record({
  method,
  interim: fc.constantFrom(
    '',
    '',
    '',
    'HTTP/1.1 100 Continue\r\n\r\n',
    'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n',
  ),
  statusLine: validStatusLine,
  headers: fc.array(safeHeader, { maxLength: 4 }),
  framedBody: wellFramedBody,
  headEnd: fc.constant('\r\n'),
  cuts,
  pauses,
  after,
});

/** Anything: malformed status lines, header blocks and chunk streams. */
const wildAnswer = fc.record({
  method,
  interim: fc.constantFrom(
    '',
    '',
    '',
    'HTTP/1.1 100 Continue\r\n\r\n',
    'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n',
  ),
  statusLine: fc.oneof({ weight: 3, arbitrary: validStatusLine }, { weight: 2, arbitrary: wildStatusLine }),
  headers: fc.array(fc.oneof(header, safeHeader), { maxLength: 6 }),
  framedBody,
  headEnd: fc.constantFrom('\r\n', '\r\n', '\r\n', '\r\n', '\n', ''),
  cuts,
  pauses,
  after,
});

const upstreamCase: fc.Arbitrary<UpstreamCase> = fc
  .oneof(wellFormedAnswer, wildAnswer)
  .map(({ method, interim, statusLine, headers, framedBody: [framing, body], headEnd, cuts, pauses, after }) => {
    const head = [...framing, ...headers].map((line) => `${line}\r\n`).join('');
    const answer = `${interim}${statusLine.text}${head}${headEnd}${body}`;
    return { method, packets: splitIntoPackets(answer, cuts, pauses), status: statusLine.status, after };
  });

let gateway: GatewayProcess;
let upstream: RawUpstream;
let current: UpstreamCase | undefined;
/** The first bytes of every request the upstream received: the secret must have been there. */
const received: string[] = [];

async function answer(socket: net.Socket, script: UpstreamCase): Promise<void> {
  for (const packet of script.packets) {
    if (socket.destroyed) return;
    socket.write(Buffer.from(packet.bytes, 'latin1'));
    if (packet.pauseMs > 0) await new Promise((wake) => setTimeout(wake, packet.pauseMs));
  }
  if (script.after === 'end') socket.end();
  else if (script.after === 'reset') socket.resetAndDestroy();
}

beforeAll(async () => {
  upstream = await startRawUpstream((socket) => {
    socket.once('data', (chunk: Buffer) => {
      received.push(chunk.toString('latin1'));
      if (current !== undefined) void answer(socket, current);
    });
  });
  gateway = await spawnGateway({
    ATLAS_ADAPTERS: JSON.stringify([
      {
        name: 'fuzz',
        baseUrl: upstream.url,
        headers: [
          { name: 'X-Api-Key', value: '${{ SECRET }}' },
          { name: 'Authorization', value: 'Bearer ${{ SECRET }}' },
        ],
        timeoutMs: UPSTREAM_TIMEOUT_MS,
        bodyIdleTimeoutMs: UPSTREAM_TIMEOUT_MS,
      },
    ]),
    ATLAS_ACCESS_TOKENS: CALLER_TOKEN,
    SECRET,
  });
  expect(gateway.url).not.toBe('');
});

afterAll(async () => {
  await stopGateway(gateway);
  await upstream.close();
});

function requestFor(method: UpstreamCase['method']): string {
  const body = method === 'POST' ? 'Content-Length: 5\r\n\r\nhello' : '\r\n';
  return (
    `${method} /v1/apis/http/fuzz/case HTTP/1.1\r\nHost: gateway\r\nAuthorization: ${CALLER_AUTH.authorization}\r\n` +
    `Connection: close\r\n${body}`
  );
}

async function runCase(script: UpstreamCase): Promise<void> {
  current = script;
  const noBody = script.method === 'HEAD';
  const answered = (bytes: Buffer) => {
    const { responses, garbage } = parseResponses(bytes, { closed: false, noBody });
    const last = responses.at(-1);
    return garbage !== undefined || (last !== undefined && last.complete && last.status >= 200);
  };
  try {
    const { bytes, ending } = await converse(
      gateway.url,
      [{ bytes: requestFor(script.method), pauseMs: 0 }],
      'wait',
      answered,
      CASE_BOUND_MS,
    );
    expect(ending).not.toBe('hang');
    expect(bytes.includes(SECRET)).toBe(false);
    const closed = ending === 'closed' || ending === 'reset';
    const { responses, garbage } = parseResponses(bytes, { closed, noBody });
    expect(garbage).toBeUndefined();
    const interim = responses.filter((response) => response.complete && response.status < 200);
    const finals = responses.slice(interim.length);
    expect(finals.length).toBeLessThanOrEqual(1);
    const final = finals[0];
    if (final === undefined || !final.complete) {
      // Aborted: nothing, or a relayed response cut short, and the connection is gone.
      expect(closed).toBe(true);
      if (final !== undefined && final.status !== 0) expect(headerOf(final, 'atlas-error')).toBeUndefined();
    } else if (headerOf(final, 'atlas-error') !== undefined) {
      expectGatewayError(final, ['bad_gateway', 'gateway_timeout'], noBody);
    } else {
      expect(final.status).toBeGreaterThanOrEqual(200);
      expect(final.status).toBeLessThanOrEqual(599);
      if (script.status !== undefined) expect(final.status).toBe(script.status);
    }
  } finally {
    // Every case starts on fresh upstream connections.
    current = undefined;
    for (const socket of upstream.sockets) socket.destroy();
    upstream.sockets.length = 0;
  }
  await expectAlive(gateway);
}

test(`random upstream answers get the relayed response, a JSON error or an abort (seed ${FUZZ_SEED})`, async () => {
  await fuzz(__filename, upstreamCase, runCase);
}, 300_000);

test('the secret was injected into the upstream requests and never logged', () => {
  expect(received.some((request) => request.toLowerCase().includes(`x-api-key: ${SECRET}`))).toBe(true);
  expect(gateway.stdout()).not.toContain(SECRET);
  expect(gateway.stderr()).not.toContain(SECRET);
});
