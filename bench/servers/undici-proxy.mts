import http, { type IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';

// A reference point rather than a contender: the bare node:http proxy of
// node-proxy.mts with undici's connection pool as the client instead of
// http.request. The difference between the two is what the client engine
// alone costs per request.
const upstream = new URL(process.env.BENCH_UPSTREAM_URL ?? '');
const pool = new Pool(upstream.origin, { connections: 64 });
const INJECTED = {
  authorization: `Bearer ${process.env.HEROKU_API_KEY}`,
  accept: 'application/vnd.heroku+json; version=3',
};
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
]);

function forwardable(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>) {
  const copy: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !NOT_FORWARDED.has(name)) copy[name] = value;
  }
  return copy;
}

http
  .createServer((req, res) => {
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    pool.stream(
      {
        path: req.url ?? '/',
        method: req.method as 'GET',
        headers: { ...forwardable(req.headers), ...INJECTED },
        body: hasBody ? req : null,
      },
      ({ statusCode, headers }) => {
        res.writeHead(statusCode, forwardable(headers));
        return res;
      },
      (error) => {
        if (error === null) return;
        if (!res.headersSent) res.writeHead(502);
        res.end();
      },
    );
  })
  .listen(Number(process.env.PORT), '127.0.0.1');
