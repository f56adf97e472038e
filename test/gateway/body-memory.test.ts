import { createHash } from 'node:crypto';
import http from 'node:http';
import { createBodyMemoryPacer } from '../../gateway/src/proxy/body-memory';
import { CALLER_AUTH, startGateway, type InProcessGateway } from '../helpers/gateway';
import { send } from '../helpers/http';
import { startUpstream, type Upstream } from '../helpers/upstreams';

const MiB = 1024 * 1024;
/** Deterministic content, so that both ends can check every byte arrived in order. */
const PATTERN = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 31) % 251));

function sha256Of(total: number): string {
  const hash = createHash('sha256');
  for (let left = total; left > 0; left -= PATTERN.length)
    hash.update(PATTERN.subarray(0, Math.min(left, PATTERN.length)));
  return hash.digest('hex');
}

/** Writes `total` bytes of PATTERN, waiting for 'drain' when the stream is full. */
async function writePattern(out: http.ServerResponse | http.ClientRequest, total: number): Promise<void> {
  for (let left = total; left > 0; left -= PATTERN.length) {
    if (!out.write(PATTERN.subarray(0, Math.min(left, PATTERN.length))))
      await new Promise((resolve) => out.once('drain', resolve));
  }
  out.end();
}

let upstream: Upstream;
let gateway: InProcessGateway;
let collections = 0;

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    const url = new URL(req.url!, 'http://upstream');
    const bytes = Number(url.searchParams.get('bytes'));
    if (req.method === 'GET') {
      // With a length, or chunked when asked to leave it out.
      res.writeHead(200, url.searchParams.has('chunked') ? {} : { 'content-length': bytes });
      void writePattern(res, bytes);
      return;
    }
    const hash = createHash('sha256');
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ received, sha256: hash.digest('hex') }));
    });
  });
  gateway = await startGateway({
    adapters: [{ name: 'bulk', baseUrl: upstream.url }],
    bodyMemory: createBodyMemoryPacer(() => collections++, MiB),
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

beforeEach(() => {
  collections = 0;
});

function download(query: string): Promise<{ status: number; length: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${gateway.url}/v1/apis/http/bulk/data?${query}`, { headers: CALLER_AUTH }, (res) => {
      const hash = createHash('sha256');
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        length += chunk.length;
        hash.update(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode!, length, sha256: hash.digest('hex') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function upload(bytes: number, headers: http.OutgoingHttpHeaders): Promise<{ received: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${gateway.url}/v1/apis/http/bulk/data`, {
      method: 'PUT',
      headers: { ...CALLER_AUTH, ...headers },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(JSON.parse(body) as { received: number; sha256: string }));
    });
    req.on('error', reject);
    void writePattern(req, bytes);
  });
}

test('a download with a length collects once per MiB streamed, and every byte arrives in order', async () => {
  const received = await download(`bytes=${8 * MiB}`);
  expect(received).toEqual({ status: 200, length: 8 * MiB, sha256: sha256Of(8 * MiB) });
  expect(collections).toBe(8);
});

test('a chunked download is counted too', async () => {
  const received = await download(`bytes=${4 * MiB}&chunked`);
  expect(received).toEqual({ status: 200, length: 4 * MiB, sha256: sha256Of(4 * MiB) });
  expect(collections).toBe(4);
});

test('uploads are counted, with a length and chunked', async () => {
  await expect(upload(6 * MiB, { 'content-length': 6 * MiB })).resolves.toEqual({
    received: 6 * MiB,
    sha256: sha256Of(6 * MiB),
  });
  expect(collections).toBe(6);
  await expect(upload(3 * MiB, {})).resolves.toEqual({ received: 3 * MiB, sha256: sha256Of(3 * MiB) });
  expect(collections).toBe(9);
});

test('small bodies are not watched: 2,000 requests of 1 KiB each way trigger no collection', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  try {
    for (let batch = 0; batch < 250; batch++) {
      const results = await Promise.all(
        Array.from({ length: 4 }, () =>
          Promise.all([
            send(gateway.url, { path: '/v1/apis/http/bulk/small?bytes=1024', headers: CALLER_AUTH, agent }),
            send(gateway.url, {
              method: 'PUT',
              path: '/v1/apis/http/bulk/small',
              headers: CALLER_AUTH,
              body: PATTERN.subarray(0, 1024),
              agent,
            }),
          ]),
        ),
      );
      for (const [get, put] of results) {
        expect(get!.body.length).toBe(1024);
        expect(put!.json()).toMatchObject({ received: 1024 });
      }
    }
  } finally {
    agent.destroy();
  }
  // 2 MiB went each way in bodies below the watched size: the pacer counted none of it.
  expect(collections).toBe(0);
});
