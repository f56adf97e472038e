import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { CALLER_TOKEN, type InProcessGateway, startGateway } from '../helpers/gateway';
import { close, listen } from '../helpers/http';
import { type Seen, type Upstream, startEchoUpstream, startUpstream } from '../helpers/upstreams';
import { type CliTempDir, makeCliTempDir, runAtlas } from '../helpers/cli-run';

const BLOB = randomBytes(1024 * 1024);
const NOT_FOUND_BODY = '{"id":"not_found","message":"Couldn\'t find that app."}';

let echo: Upstream;
let files: Upstream;
let gateway: InProcessGateway;
let dir: CliTempDir;
let closedPortUrl: string;

beforeAll(async () => {
  echo = await startEchoUpstream();
  files = await startUpstream((req, res) => {
    if (req.url === '/blob') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-blob-sha256': sha256(BLOB) });
      res.end(BLOB);
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(NOT_FOUND_BODY);
    }
  });
  const closed = http.createServer();
  closedPortUrl = await listen(closed);
  await close(closed);
  gateway = await startGateway({
    adapters: [
      { name: 'echo', baseUrl: echo.url },
      { name: 'files', baseUrl: files.url },
      { name: 'down', baseUrl: closedPortUrl },
    ],
  });
  dir = makeCliTempDir();
});

afterAll(async () => {
  await gateway?.close();
  await echo?.close();
  await files?.close();
  dir?.remove();
});

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function flags(): string[] {
  return ['--url', gateway.url, '--token', CALLER_TOKEN];
}

/** The echo upstream's report of the request the CLI made. */
function report(stdout: string): Seen {
  return JSON.parse(stdout) as Seen;
}

test.concurrent(
  '--url and --token: the gateway accepts the token and the body of the upstream reaches stdout',
  async () => {
    const result = await runAtlas(['curl', '/v1/apis/http/echo/account?x=1', ...flags()]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(report(result.out)).toMatchObject({ method: 'GET', url: '/account?x=1' });
  },
);

test.concurrent('ATLAS_URL and ATLAS_TOKEN from the environment are used when no flags are given', async () => {
  const result = await runAtlas(['curl', '/v1/apis/http/echo/from-env'], {
    env: { ATLAS_URL: gateway.url, ATLAS_TOKEN: CALLER_TOKEN },
  });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(report(result.out).url).toBe('/from-env');
});

test.concurrent('the flags win over ATLAS_URL and ATLAS_TOKEN', async () => {
  const result = await runAtlas(['curl', '/v1/apis/http/echo/flags', ...flags()], {
    env: { ATLAS_URL: closedPortUrl, ATLAS_TOKEN: 'wrong-token' },
  });
  expect(result.code).toBe(0);
  expect(report(result.out).url).toBe('/flags');
});

test.concurrent('a wrong token gets the gateway 401 body on stdout and exit 22', async () => {
  const result = await runAtlas(['curl', '/v1/apis/http/echo/x', '--url', gateway.url, '--token', 'not-the-token']);
  expect(result.code).toBe(22);
  expect(JSON.parse(result.out)).toMatchObject({ id: 'unauthorized' });
  expect(echo.seen.some((seen) => seen.url === '/x')).toBe(false);
});

test.concurrent.each([
  ['the URL', { ATLAS_TOKEN: CALLER_TOKEN }, ['--url', 'ATLAS_URL'], ['--token', 'ATLAS_TOKEN']],
  ['the token', { ATLAS_URL: 'http://127.0.0.1:9' }, ['--token', 'ATLAS_TOKEN'], ['--url', 'ATLAS_URL']],
  ['both', {}, ['--url', 'ATLAS_URL', '--token', 'ATLAS_TOKEN'], []],
])(
  'without %s (and no pulumi on PATH) it exits non-zero naming what is missing',
  async (_what, env: Record<string, string>, named, notNamed) => {
    const result = await runAtlas(['curl', '/v1/apis'], { env });
    expect(result.code).toBe(1);
    expect(result.out).toBe('');
    for (const word of named) expect(result.stderr).toContain(word);
    for (const word of notNamed) expect(result.stderr).not.toContain(word);
  },
);

test.concurrent(
  'with the Pulumi CLI on PATH, the stack outputs url and accessToken (--show-secrets) are used',
  async () => {
    const bin = path.join(dir.path, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    // Answers only the two exact invocations, so a wrong argument list fails the test.
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
    const result = await runAtlas(['curl', '/v1/apis/http/echo/from-stack'], { path: bin });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(report(result.out).url).toBe('/from-stack');
  },
);

test.concurrent('a 1 MiB binary body reaches stdout byte for byte', async () => {
  const result = await runAtlas(['curl', '/v1/apis/http/files/blob', ...flags()]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout.length).toBe(BLOB.length);
  expect(result.stdout.equals(BLOB)).toBe(true);
});

test.concurrent('-i prints the status line and the response headers, then a blank line, then the body', async () => {
  const result = await runAtlas(['curl', '-i', '/v1/apis/http/files/blob', ...flags()]);
  expect(result.code).toBe(0);
  const split = result.stdout.indexOf('\r\n\r\n');
  expect(split).toBeGreaterThan(0);
  const head = result.stdout.subarray(0, split).toString('latin1').split('\r\n');
  expect(head[0]).toBe('HTTP/1.1 200 OK');
  const headers = new Map(
    head.slice(1).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 2)]),
  );
  expect(headers.get('content-type')).toBe('application/octet-stream');
  expect(headers.get('x-blob-sha256')).toBe(sha256(BLOB));
  expect(headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  expect(result.stdout.subarray(split + 4).equals(BLOB)).toBe(true);
});

test.concurrent('without -i only the body is printed', async () => {
  const result = await runAtlas(['curl', '/v1/apis/http/echo/plain', ...flags()]);
  expect(result.out.startsWith('{')).toBe(true);
});

test.concurrent('-X POST -d delivers the exact bytes, as a form like curl', async () => {
  const data = 'name=my app&region=eu&note=a "quoted" value: #1';
  const result = await runAtlas(['curl', '-X', 'POST', '-d', data, '/v1/apis/http/echo/apps', ...flags()]);
  expect(result.code).toBe(0);
  const seen = report(result.out);
  expect(seen.method).toBe('POST');
  expect(seen.bodyLength).toBe(Buffer.byteLength(data));
  expect(seen.bodySha256).toBe(sha256(data));
  expect(seen.headers['content-type']).toBe('application/x-www-form-urlencoded');
});

test.concurrent('-d without -X is a POST, and -H sets the content type and other headers', async () => {
  const data = '{"maintenance":true}';
  const result = await runAtlas([
    'curl',
    '/v1/apis/http/echo/apps/a',
    '-d',
    data,
    '-H',
    'Content-Type: application/json',
    '-H',
    'X-Trace: abc: def',
    ...flags(),
  ]);
  expect(result.code).toBe(0);
  const seen = report(result.out);
  expect(seen.method).toBe('POST');
  expect(seen.bodySha256).toBe(sha256(data));
  expect(seen.headers['content-type']).toBe('application/json');
  expect(seen.headers['x-trace']).toBe('abc: def');
});

test.concurrent(
  '--data-binary @FILE delivers the file bytes exactly (newlines, NULs and all) with -X PUT',
  async () => {
    const bytes = Buffer.concat([randomBytes(200_000), Buffer.from('\r\n\n\0\0end\n')]);
    const file = dir.write('upload.bin', bytes);
    const result = await runAtlas([
      'curl',
      '-X',
      'PUT',
      '--data-binary',
      `@${file}`,
      '/v1/apis/http/echo/upload',
      ...flags(),
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const seen = report(result.out);
    expect(seen.method).toBe('PUT');
    expect(seen.bodyLength).toBe(bytes.length);
    expect(seen.bodySha256).toBe(sha256(bytes));
    // As curl does for a file: the length up front rather than a chunked upload.
    expect(seen.headers['content-length']).toBe(String(bytes.length));
  },
);

test.concurrent('--data-binary @FILE of a missing file exits 1 naming the file, and sends no request', async () => {
  const file = path.join(dir.path, 'no-such-upload.bin');
  const result = await runAtlas(['curl', '--data-binary', `@${file}`, '/v1/apis/http/echo/missing-upload', ...flags()]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(file);
  expect(result.stderr).toContain('ENOENT');
  expect(result.stderr).not.toContain('cannot reach the gateway');
  expect(gateway.logs().some((line) => String(line.path).includes('missing-upload'))).toBe(false);
});

test.concurrent('--data-binary without @ sends the text itself', async () => {
  const result = await runAtlas(['curl', '--data-binary', 'raw\ntext', '/v1/apis/http/echo/raw', ...flags()]);
  expect(report(result.out).bodySha256).toBe(sha256('raw\ntext'));
});

test.concurrent('an upstream 404 exits 22 with the upstream body still printed', async () => {
  const result = await runAtlas(['curl', '/v1/apis/http/files/apps/nope', ...flags()]);
  expect(result.code).toBe(22);
  expect(result.out).toBe(NOT_FOUND_BODY);
});

test.concurrent('a gateway 502 (upstream down) exits 22 with the gateway body printed', async () => {
  const result = await runAtlas(['curl', '/v1/apis/http/down/x', ...flags()]);
  expect(result.code).toBe(22);
  expect(JSON.parse(result.out)).toMatchObject({ id: 'bad_gateway' });
});

test.concurrent('an unreachable gateway exits 7 and names the address', async () => {
  const result = await runAtlas(['curl', '/v1/apis', '--url', closedPortUrl, '--token', CALLER_TOKEN]);
  expect(result.code).toBe(7);
  expect(result.out).toBe('');
  expect(result.stderr).toContain(closedPortUrl);
});

test.concurrent('an absolute URL to another origin is refused and that server receives nothing', async () => {
  const other = await startUpstream((_req, res) => res.end('should not be reached'));
  try {
    const result = await runAtlas(['curl', `${other.url}/steal`, ...flags()]);
    expect(result.code).not.toBe(0);
    expect(result.out).toBe('');
    expect(result.stderr).toContain('refusing to send the Atlas token');
    const protocolRelative = await runAtlas(['curl', `//${new URL(other.url).host}/steal`, ...flags()]);
    expect(protocolRelative.code).not.toBe(0);
    expect(other.seen).toEqual([]);
  } finally {
    await other.close();
  }
});

test.concurrent('an absolute URL to the gateway itself is allowed', async () => {
  const result = await runAtlas(['curl', `${gateway.url}/v1/apis/http/echo/same-origin`, ...flags()]);
  expect(result.code).toBe(0);
  expect(report(result.out).url).toBe('/same-origin');
});

test.concurrent('a gateway URL with a path prefix keeps the prefix', async () => {
  const result = await runAtlas(['curl', '/v1/apis', '--url', `${echo.url}/atlas`, '--token', 't']);
  expect(result.code).toBe(0);
  expect(report(result.out).url).toBe('/atlas/v1/apis');
});
