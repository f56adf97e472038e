import http from 'node:http';
import { INJECTED, withoutHopByHop } from './reference-headers.mts';

// A reference point rather than a contender: the least a Node proxy does
// (node:http both ways, a keep-alive pool, the two headers), with no
// framework, routing, auth or logging. What Node itself costs per request.
const upstream = new URL(process.env.BENCH_UPSTREAM_URL ?? '');
const agent = new http.Agent({ keepAlive: true });

http
  .createServer((req, res) => {
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...withoutHopByHop(req.headers), host: upstream.host, ...INJECTED },
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, withoutHopByHop(answer.headers));
        answer.pipe(res);
      },
    );
    forward.once('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  })
  .listen(Number(process.env.PORT), '127.0.0.1');
