import { CALLER_AUTH, spawnGateway, startGateway, stopGateway } from '../helpers/gateway';
import { send } from '../helpers/http';
import { startEchoUpstream } from '../helpers/upstreams';

test('GET /healthz answers 200 {"status":"ok"} without authentication, with a request id', async () => {
  const gateway = await startGateway({ adapters: [] });
  try {
    const res = await send(gateway.url, { path: '/healthz' });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  } finally {
    await gateway.close();
  }
});

test('the compiled gateway process serves an adapter from ATLAS_ADAPTERS', async () => {
  const upstream = await startEchoUpstream();
  const gateway = await spawnGateway({
    ATLAS_ADAPTERS: JSON.stringify([{ name: 'echo', baseUrl: upstream.url }]),
    ATLAS_ACCESS_TOKENS: CALLER_AUTH.authorization.slice('Bearer '.length),
  });
  try {
    expect(gateway.url).not.toBe('');
    const res = await send(gateway.url, { path: '/v1/apis/http/echo/account', headers: CALLER_AUTH });
    expect(res.status).toBe(200);
    expect(upstream.seen[0]!.url).toBe('/account');
  } finally {
    await stopGateway(gateway);
    await upstream.close();
  }
});
