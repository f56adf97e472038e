import http from 'node:http';
import { InvalidArgumentError } from 'commander';
import { checkToken, resolveTarget } from '../../cli/src/gateway-target';
import { createProxyHandler } from '../../cli/src/proxy/create-proxy-handler';
import { describeSetup, PLACEHOLDER_KEY } from '../../cli/src/proxy/describe-setup';
import { toClientResponseHeaders, toGatewayRequestHeaders } from '../../cli/src/proxy/forward-headers';
import { parsePort, parseProxyTargets, ProxyUsageError } from '../../cli/src/proxy/proxy-targets';
import { detectCrossSiteRequest, isLoopbackHost } from '../../gateway/src/http/cross-site';
import { close, listen, send } from '../helpers/http';
import { startEchoUpstream, type Seen, type Upstream } from '../helpers/upstreams';

/**
 * The parts of `atlas proxy` one at a time: argument parsing, the header
 * rules, the start-up text, the token check, the cross-site checks, and the
 * request handler on a real server in this process (its refusals and error
 * reports, with the gateway played by an echo server).
 */

describe('parsePort (--port)', () => {
  test.each([
    ['0', 0],
    ['5000', 5000],
    ['65535', 65_535],
    ['00080', 80],
  ])('%s is port %i', (raw, port) => {
    expect(parsePort(raw)).toBe(port);
  });

  test.each(['65536', '-1', 'abc', '', '5000.5', '1e3', ' 5000', '123456'])('%j is refused', (raw) => {
    expect(() => parsePort(raw)).toThrow(InvalidArgumentError);
    expect(() => parsePort(raw)).toThrow(`"${raw}" is not a port: use a whole number from 0 (any free port) to 65535`);
  });
});

describe('parseProxyTargets (NAME[:PORT]...)', () => {
  test.each([
    [['heroku'], [{ adapter: 'heroku', port: 5000 }]],
    [['heroku:0'], [{ adapter: 'heroku', port: 0 }]],
    [
      ['heroku:5000', 'github:5001'],
      [
        { adapter: 'heroku', port: 5000 },
        { adapter: 'github', port: 5001 },
      ],
    ],
    [
      ['heroku', 'github:5001'],
      [
        { adapter: 'heroku', port: 5000 },
        { adapter: 'github', port: 5001 },
      ],
    ],
    [
      ['heroku:0', 'github:0'],
      [
        { adapter: 'heroku', port: 0 },
        { adapter: 'github', port: 0 },
      ],
    ],
  ])('%j', (specs, targets) => {
    expect(parseProxyTargets(specs, 5000)).toEqual(targets);
  });

  test('a bare name takes the default port it is given', () => {
    expect(parseProxyTargets(['heroku'], 6000)).toEqual([{ adapter: 'heroku', port: 6000 }]);
  });

  test.each([
    [
      ['heroku', 'github'],
      'heroku and github would both listen on port 5000: give each its own, such as heroku:5000 github:5001',
    ],
    [['heroku:5000', 'heroku:5001'], '"heroku" is named twice: proxy each adapter once'],
    [['heroku:5000', 'github:5000'], 'heroku and github both ask for port 5000: give each its own port'],
    [['heroku', 'github:5000'], 'heroku and github both ask for port 5000: give each its own port'],
    [
      ['heroku:65536'],
      '"heroku:65536" does not end in a port: write NAME:PORT with a port from 0 (any free port) to 65535, such as heroku:5000',
    ],
    [['heroku:'], '"heroku:" does not end in a port'],
    [['heroku:x'], '"heroku:x" does not end in a port'],
  ])('%j is refused: %s', (specs, message) => {
    expect(() => parseProxyTargets(specs, 5000)).toThrow(ProxyUsageError);
    expect(() => parseProxyTargets(specs, 5000)).toThrow(message);
  });

  test.each(['Heroku', 'has space', '', ':5000', '../x:5000', 'a/b'])(
    'the adapter name %j is refused as the config schema refuses it',
    (spec) => {
      expect(() => parseProxyTargets([spec], 5000)).toThrow(ProxyUsageError);
    },
  );
});

describe('checkToken', () => {
  test.each(['caller-token', 'tok en', 'token\twith-tab', 'latin1-é'])('%j can be sent', (token) => {
    expect(() => checkToken(token)).not.toThrow();
  });

  test.each([
    ['a zero-width space', 'token\u200b', 'U+200B at position 6'],
    ['a line break inside', 'tok\nen', 'U+000A at position 4'],
    ['a NUL', '\u0000token', 'U+0000 at position 1'],
    ['a curly quote', '\u201ctoken\u201d', 'U+201C at position 1'],
    ['an emoji', 'token\u{1f511}', 'U+1F511 at position 6'],
  ])('a token with %s is refused, naming the character and where it is', (_case, token, where) => {
    expect(() => checkToken(token)).toThrow(
      `the access token has a character an HTTP header cannot carry (${where}): copy the token again, without invisible characters or line breaks`,
    );
  });

  test('resolveTarget checks the token it found, from a flag or from ATLAS_TOKEN', () => {
    expect(() => resolveTarget({ url: 'http://127.0.0.1:8080', token: 'token\u200b' }, {})).toThrow('U+200B');
    expect(() => resolveTarget({}, { ATLAS_URL: 'http://127.0.0.1:8080', ATLAS_TOKEN: 'tok\u00a0\u2028en' })).toThrow(
      'U+2028 at position 5',
    );
    expect(() => resolveTarget({ url: 'http://127.0.0.1:8080', token: '' }, {})).toThrow('the access token is empty');
  });

  test.each(['', '   '])('an empty token %j is refused', (token) => {
    expect(() => checkToken(token)).toThrow(
      'the access token is empty: pass --token or set ATLAS_TOKEN to the token the gateway accepts',
    );
  });
});

describe('cross-site checks (shared with the gateway without authentication)', () => {
  test.each([
    ['127.0.0.1:5000', {}],
    ['localhost:5000', {}],
    ['[::1]:5000', {}],
    ['127.0.0.2', {}],
    ['localhost:5000', { origin: 'http://localhost:3000' }],
    ['localhost:5000', { origin: 'http://127.0.0.1:5000', 'sec-fetch-site': 'same-origin' }],
    ['localhost:5000', { 'sec-fetch-site': 'none' }],
  ])('Host %s with %j is a local client', (host, headers) => {
    expect(detectCrossSiteRequest({ host, ...headers })).toBeUndefined();
  });

  test.each([
    [{ host: 'attacker.example' }, 'host'],
    [{ host: 'attacker.example:5000' }, 'host'],
    [{ host: 'localhost.attacker.example' }, 'host'],
    [{ host: '127.0.0.1.attacker.example' }, 'host'],
    [{ host: '' }, 'host'],
    [{}, 'host'],
    [{ host: 'localhost:5000', origin: 'https://attacker.example' }, 'origin'],
    [{ host: 'localhost:5000', origin: 'null' }, 'origin'],
    [{ host: 'localhost:5000', origin: 'not a url' }, 'origin'],
    [{ host: 'localhost:5000', 'sec-fetch-site': 'cross-site' }, 'sec-fetch-site'],
  ])('%j is refused for its %s', (headers, signal) => {
    expect(detectCrossSiteRequest(headers)).toBe(signal);
  });

  test('an explicit --address adds that address as a Host, and nothing else', () => {
    expect(detectCrossSiteRequest({ host: '192.0.2.10:5000' }, ['192.0.2.10'])).toBeUndefined();
    expect(detectCrossSiteRequest({ host: '[fd00::2]:5000' }, ['fd00::2'])).toBeUndefined();
    expect(detectCrossSiteRequest({ host: '192.0.2.11:5000' }, ['192.0.2.10'])).toBe('host');
  });

  test.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['[::1]', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['192.0.2.10', false],
    ['::', false],
    ['::ffff:127.0.0.1', true],
    ['[::FFFF:127.0.0.2]', true],
    ['::ffff:192.0.2.10', false],
    ['localhost.example', false],
  ])('isLoopbackHost(%j) is %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});

/** An IncomingMessage as far as the header functions read one. */
function message(rawHeaders: string[]): http.IncomingMessage {
  const headers: http.IncomingHttpHeaders = {};
  for (let i = 0; i < rawHeaders.length; i += 2) headers[rawHeaders[i]!.toLowerCase()] = rawHeaders[i + 1]!;
  return { rawHeaders, headers } as unknown as http.IncomingMessage;
}

describe('toGatewayRequestHeaders', () => {
  test("the client's credentials and hop-by-hop headers go, the gateway's Host and the Atlas token come", () => {
    const headers = toGatewayRequestHeaders(
      message([
        'Host',
        '127.0.0.1:5000',
        'Authorization',
        `Bearer ${PLACEHOLDER_KEY}`,
        'Proxy-Authorization',
        'Basic eA==',
        'Cookie',
        'a=b',
        'Atlas-Accesstoken',
        'other',
        'Connection',
        'keep-alive, X-Hop',
        'X-Hop',
        'dropped',
        'Keep-Alive',
        'timeout=5',
        'TE',
        'trailers',
        'Expect',
        '100-continue',
        'Accept',
        'application/vnd.heroku+json; version=3',
        'Range',
        'id ..; max=2',
        'X-Repeated',
        'one',
        'X-Repeated',
        'two',
        'Content-Length',
        '2',
      ]),
      'atlas.example.com',
      'atlas-token',
    );
    expect(headers).toEqual([
      'Accept',
      'application/vnd.heroku+json; version=3',
      'Range',
      'id ..; max=2',
      'X-Repeated',
      'one',
      'X-Repeated',
      'two',
      'Content-Length',
      '2',
      'Host',
      'atlas.example.com',
      'Authorization',
      'Bearer atlas-token',
    ]);
  });

  test('a chunked body stays chunked, and a Content-Length beside it is dropped', () => {
    const headers = toGatewayRequestHeaders(
      message(['Transfer-Encoding', 'chunked', 'Content-Length', '10', 'Content-Type', 'application/json']),
      'gw',
      't',
    );
    expect(headers).toEqual([
      'Content-Type',
      'application/json',
      'Host',
      'gw',
      'Authorization',
      'Bearer t',
      'Transfer-Encoding',
      'chunked',
    ]);
  });

  test('Connection cannot name a framing header away', () => {
    const headers = toGatewayRequestHeaders(
      message(['Connection', 'content-length', 'Content-Length', '3']),
      'gw',
      't',
    );
    expect(headers).toContain('Content-Length');
  });
});

describe('toClientResponseHeaders', () => {
  test("the gateway's headers reach the client as sent, pagination and repeats included, minus hop-by-hop ones", () => {
    expect(
      toClientResponseHeaders(
        message([
          'Content-Type',
          'application/json',
          'Content-Range',
          'id a..b; max=2',
          'Next-Range',
          'id ]b..; max=2',
          'Set-Cookie',
          'a=1',
          'Set-Cookie',
          'b=2',
          'Connection',
          'keep-alive, X-Hop',
          'X-Hop',
          'x',
          'Keep-Alive',
          'timeout=5',
          'Transfer-Encoding',
          'chunked',
          'Atlas-Error',
          'unauthorized',
        ]),
      ),
    ).toEqual([
      'Content-Type',
      'application/json',
      'Content-Range',
      'id a..b; max=2',
      'Next-Range',
      'id ]b..; max=2',
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
      'Atlas-Error',
      'unauthorized',
    ]);
  });
});

describe('describeSetup', () => {
  const heroku = {
    adapter: 'heroku',
    url: 'http://127.0.0.1:5000',
    forwardsTo: 'https://atlas.example.com/v1/apis/http/heroku',
  };
  const github = {
    adapter: 'github',
    url: 'http://127.0.0.1:5001',
    forwardsTo: 'https://atlas.example.com/v1/apis/http/github',
  };

  test('a Heroku adapter gets the Heroku CLI, heroku-client and curl settings, with telemetry off', () => {
    expect(describeSetup([heroku])).toBe(
      [
        'Forwarding http://127.0.0.1:5000 to https://atlas.example.com/v1/apis/http/heroku',
        '',
        'Heroku CLI (heroku):',
        '  export HEROKU_HOST=http://127.0.0.1:5000 HEROKU_API_KEY=atlas-proxy',
        '  export HEROKU_PARTICLEBOARD_URL=http://127.0.0.1:5000 DISABLE_TELEMETRY=true',
        '  heroku apps',
        'heroku-client:',
        "  new Heroku({ host: 'http://127.0.0.1:5000', token: 'atlas-proxy' })",
        'curl:',
        "  curl -H 'Accept: application/vnd.heroku+json; version=3' http://127.0.0.1:5000/account",
        '',
        'Ctrl-C stops the proxy.',
        '',
      ].join('\n'),
    );
  });

  test('several listeners: every Forwarding line first, then each one settings', () => {
    const lines = describeSetup([heroku, github]).split('\n');
    expect(lines.slice(0, 2)).toEqual([
      'Forwarding http://127.0.0.1:5000 to https://atlas.example.com/v1/apis/http/heroku',
      'Forwarding http://127.0.0.1:5001 to https://atlas.example.com/v1/apis/http/github',
    ]);
    expect(lines).toContain('curl (github):');
    expect(lines).toContain('  curl http://127.0.0.1:5001/');
    expect(lines.filter((line) => line.startsWith('Heroku CLI'))).toHaveLength(1);
    expect(lines.at(-2)).toBe('Ctrl-C stops the proxy.');
  });
});

describe('createProxyHandler on a real server, the gateway played by an echo server', () => {
  let gateway: Upstream;
  let server: http.Server;
  let url: string;
  const reports: string[] = [];
  const agent = new http.Agent({ keepAlive: true });

  beforeAll(async () => {
    gateway = await startEchoUpstream();
    server = http.createServer(
      createProxyHandler({
        adapter: 'heroku',
        gateway: new URL(`${gateway.url}/prefix/`),
        token: 'atlas-token',
        extraHosts: [],
        agent,
        connectTimeoutMs: 5_000,
        report: (line) => reports.push(line),
      }),
    );
    url = await listen(server);
  });

  afterAll(async () => {
    agent.destroy();
    await close(server);
    await gateway.close();
  });

  beforeEach(() => {
    reports.length = 0;
  });

  test('a request goes below the gateway path prefix with the Atlas token instead of the placeholder', async () => {
    const res = await send(url, {
      method: 'PATCH',
      path: '/apps/x?q=1',
      headers: { authorization: `Bearer ${PLACEHOLDER_KEY}`, 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    const seen = res.json<Seen>();
    expect(seen).toMatchObject({ method: 'PATCH', url: '/prefix/v1/apis/http/heroku/apps/x?q=1', bodyLength: 7 });
    expect(seen.headers.authorization).toBe('Bearer atlas-token');
    expect(seen.headers.host).toBe(new URL(gateway.url).host);
    expect(reports).toEqual([]);
  });

  test.each([
    ['Host', { host: 'attacker.example' }, 'GET /h: refused: Host "attacker.example" is not this machine'],
    [
      'Origin',
      { origin: 'https://attacker.example' },
      'GET /h: refused: Origin "https://attacker.example" is a web page',
    ],
    ['Sec-Fetch-Site', { 'sec-fetch-site': 'cross-site' }, 'GET /h: refused: Sec-Fetch-Site: cross-site'],
  ])('a cross-site %s: 403 JSON and one report line, nothing sent', async (_signal, headers, line) => {
    const before = gateway.seen.length;
    const res = await send(url, { path: '/h?secret=1', headers });
    expect(res.status).toBe(403);
    expect(res.headers['atlas-error']).toBe('forbidden');
    expect(res.json()).toEqual({
      id: 'forbidden',
      message: expect.stringMatching(/^atlas proxy refused the request: /),
    });
    expect(reports).toHaveLength(1);
    expect(reports[0]!.startsWith(line)).toBe(true);
    // The query stays out of the report: it may carry what the client would not log.
    expect(reports[0]).not.toContain('secret');
    expect(gateway.seen.length).toBe(before);
  });

  test('an unreachable gateway: 502 gateway_unreachable and one report line', async () => {
    const down = http.createServer();
    const downUrl = await listen(down);
    await close(down);
    const lines: string[] = [];
    const handler = createProxyHandler({
      adapter: 'heroku',
      gateway: new URL(downUrl),
      token: 't',
      extraHosts: [],
      agent: new http.Agent(),
      connectTimeoutMs: 5_000,
      report: (line) => lines.push(line),
    });
    const proxy = http.createServer(handler);
    const proxyUrl = await listen(proxy);
    try {
      const res = await send(proxyUrl, { path: '/account' });
      expect(res.status).toBe(502);
      expect(res.json()).toEqual({
        id: 'gateway_unreachable',
        message: `atlas proxy cannot reach the gateway at ${downUrl}: ECONNREFUSED.`,
      });
      expect(lines).toEqual([`GET /account: cannot reach the gateway at ${downUrl}: ECONNREFUSED`]);
    } finally {
      await close(proxy);
    }
  });

  test.each<[string, number, Record<string, string>, string | undefined]>([
    [
      'the gateway refusing the token',
      401,
      { 'atlas-error': 'unauthorized' },
      'the gateway refused the Atlas token (401)',
    ],
    ['the upstream refusing its key', 401, {}, 'heroku itself answered 401'],
    [
      'an unknown adapter',
      404,
      { 'atlas-error': 'adapter_not_found' },
      'the gateway has no HTTP adapter "heroku" (404)',
    ],
    [
      'access rules',
      403,
      { 'atlas-error': 'forbidden' },
      'adapter "heroku"\'s access rules do not allow your token this request (403)',
    ],
    [
      'a rate limit',
      429,
      { 'atlas-error': 'rate_limited', 'retry-after': '7' },
      'over your rate limit for adapter "heroku" (429): retry in 7 s',
    ],
    ["the upstream's own 404", 404, {}, undefined],
    ["the upstream's own 429", 429, { 'retry-after': '7' }, undefined],
  ])(
    '%s: the answer passes through as it is, with one report line when it is about the setup',
    async (_case, status, headers, line) => {
      const answering = http.createServer((_req, res) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end('{"id":"x"}');
      });
      const answeringUrl = await listen(answering);
      const lines: string[] = [];
      const proxy = http.createServer(
        createProxyHandler({
          adapter: 'heroku',
          gateway: new URL(answeringUrl),
          token: 't',
          extraHosts: [],
          agent: new http.Agent(),
          connectTimeoutMs: 5_000,
          report: (text) => lines.push(text),
        }),
      );
      const proxyUrl = await listen(proxy);
      try {
        const res = await send(proxyUrl, { path: '/apps' });
        expect(res.status).toBe(status);
        expect(res.text).toBe('{"id":"x"}');
        expect(lines).toEqual(line === undefined ? [] : [expect.stringContaining(`GET /apps: ${line}`)]);
      } finally {
        await close(proxy);
        await close(answering);
      }
    },
  );
});
