import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

// A reference point rather than a contender: the least a Node proxy does
// (node:http both ways, a keep-alive pool, the two headers), with no
// framework, routing, auth or logging. What Node itself costs per request.
const upstream = new URL(process.env.BENCH_UPSTREAM_URL ?? '');
const agent = new http.Agent({ keepAlive: true });
const INJECTED = {
  authorization: `Bearer ${process.env.HEROKU_API_KEY}`,
  accept: 'application/vnd.heroku+json; version=3',
};
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

function withoutHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const copy: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) copy[name] = value;
  return copy;
}

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
