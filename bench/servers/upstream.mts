import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * The one upstream every target forwards to: a Heroku-like `GET /account`
 * kept as cheap as possible, so that the figures measure the proxies, and
 * generated streams for the transfer runs. Every request must carry the two
 * injected headers; one without them is answered 400 and counted, so a
 * proxy that drops them shows errors rather than a good figure.
 */

const key = process.env.BENCH_UPSTREAM_KEY ?? '';
const port = Number(process.env.PORT);
const EXPECTED_AUTHORIZATION = `Bearer ${key}`;
const EXPECTED_ACCEPT = 'application/vnd.heroku+json; version=3';

// The example of Heroku's account schema.
const ACCOUNT = Buffer.from(
  JSON.stringify({
    allow_tracking: true,
    beta: false,
    country_of_residence: 'United States',
    created_at: '2012-01-01T12:00:00Z',
    default_organization: null,
    default_team: null,
    delinquent_at: null,
    email: 'username@example.com',
    federated: false,
    id: '01234567-89ab-cdef-0123-456789abcdef',
    identity_provider: null,
    last_login: '2012-01-01T12:00:00Z',
    name: 'Tina Edmonds',
    sms_number: '+1 ***-***-1234',
    suspended_at: null,
    two_factor_authentication: false,
    updated_at: '2012-01-01T12:00:00Z',
    verified: false,
  }),
);
const ACCOUNT_HEADERS = {
  'content-type': 'application/json',
  'content-length': String(ACCOUNT.length),
  'cache-control': 'private, no-cache',
  etag: '"0123456789abcdef0123456789abcdef"',
  'ratelimit-remaining': '4500',
  'request-id': '01234567-89ab-cdef-0123-456789abcdef',
};
const MISMATCH = Buffer.from('{"id":"bad_request","message":"the injected headers did not arrive"}');

const CHUNK = randomBytes(256 * 1024);

const stats = { requests: 0, mismatches: 0 };

function hasInjectedHeaders(req: IncomingMessage): boolean {
  return req.headers.authorization === EXPECTED_AUTHORIZATION && req.headers.accept === EXPECTED_ACCEPT;
}

function refuse(res: ServerResponse): void {
  stats.mismatches++;
  res.writeHead(400, { 'content-type': 'application/json', 'content-length': String(MISMATCH.length) });
  res.end(MISMATCH);
}

function sendStream(res: ServerResponse, total: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
  let left = total;
  let gone = false;
  res.once('close', () => (gone = true));
  const pump = () => {
    while (left > 0 && !gone) {
      const size = Math.min(left, CHUNK.length);
      left -= size;
      if (!res.write(size === CHUNK.length ? CHUNK : CHUNK.subarray(0, size))) {
        res.once('drain', pump);
        return;
      }
    }
    if (!gone) res.end();
  };
  pump();
}

function countUpload(req: IncomingMessage, res: ServerResponse): void {
  const intact = hasInjectedHeaders(req);
  let bytes = 0;
  req.on('data', (chunk: Buffer) => (bytes += chunk.length));
  req.once('end', () => {
    if (!intact) return refuse(res);
    const body = JSON.stringify({ bytes });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  });
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (url.startsWith('/__stats')) {
    const body = JSON.stringify(stats);
    if (url.endsWith('reset=1')) Object.assign(stats, { requests: 0, mismatches: 0 });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
    return;
  }
  stats.requests++;
  if (req.method === 'GET' && url === '/account') {
    if (!hasInjectedHeaders(req)) return refuse(res);
    res.writeHead(200, ACCOUNT_HEADERS);
    res.end(ACCOUNT);
    return;
  }
  if (req.method === 'GET' && url.startsWith('/stream/download?bytes=')) {
    if (!hasInjectedHeaders(req)) return refuse(res);
    sendStream(res, Number(url.slice('/stream/download?bytes='.length)));
    return;
  }
  if (req.method === 'PUT' && url === '/stream/upload') return countUpload(req, res);
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end('{"id":"not_found"}');
});

// Longer than any proxy keeps an idle upstream connection, so that no proxy
// ever reuses a connection this server is closing (a spurious error).
server.keepAliveTimeout = 300_000;
server.listen(port, '127.0.0.1');
