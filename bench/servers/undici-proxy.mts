import http from 'node:http';
import { Pool } from 'undici';
import { INJECTED, withoutHopByHop } from './reference-headers.mts';

// A reference point rather than a contender: the bare node:http proxy of
// node-proxy.mts with undici's connection pool as the client instead of
// http.request. The difference between the two is what the client engine
// alone costs per request.
const upstream = new URL(process.env.BENCH_UPSTREAM_URL ?? '');
const pool = new Pool(upstream.origin, { connections: 64 });
// undici sets Host itself, from the pool's origin.
const HOST = new Set(['host']);

http
  .createServer((req, res) => {
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    pool.stream(
      {
        path: req.url ?? '/',
        method: req.method as 'GET',
        headers: { ...withoutHopByHop(req.headers, HOST), ...INJECTED } as Record<string, string | string[]>,
        body: hasBody ? req : null,
      },
      ({ statusCode, headers }) => {
        res.writeHead(statusCode, withoutHopByHop(headers));
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
