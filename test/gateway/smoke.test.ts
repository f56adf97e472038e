import { createApp } from '../../gateway/src/app';
import { createAuthenticator } from '../../gateway/src/auth/authenticate';
import { resolveAdapters } from '../../gateway/src/config/resolve-adapters';
import { parseAdaptersJson } from '../../gateway/src/config/parse-adapters';
import { createLogger } from '../../gateway/src/logger';
import http from 'node:http';
import { once } from 'node:events';
import { Writable } from 'node:stream';

test('smoke', async () => {
  const up = http.createServer((req, res) => res.end(req.url));
  up.listen(0, '127.0.0.1');
  await once(up, 'listening');
  const port = (up.address() as { port: number }).port;
  const { adapters } = resolveAdapters(
    parseAdaptersJson(JSON.stringify([{ name: 'e', baseUrl: `http://127.0.0.1:${port}/x` }])),
    {},
  );
  const lines: string[] = [];
  const sink = new Writable({
    write(c, _e, cb) {
      lines.push(String(c));
      cb();
    },
  });
  const app = createApp({
    adapters,
    authenticate: createAuthenticator({ accessTokens: [], oidc: undefined, disabled: true }),
    logger: createLogger('info', sink),
  });
  const gw = http.createServer(app).listen(0, '127.0.0.1');
  await once(gw, 'listening');
  const r = await fetch(`http://127.0.0.1:${(gw.address() as { port: number }).port}/v1/apis/http/e/y?z`);
  expect(await r.text()).toBe('/x/y?z');
  gw.close();
  up.close();
});
