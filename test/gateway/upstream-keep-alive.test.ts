import http from 'node:http';
import { CALLER_AUTH, startGateway } from '../helpers/gateway';
import { send } from '../helpers/http';
import { startEchoUpstream } from '../helpers/upstreams';

test('sequential requests through an adapter reuse one upstream connection, whatever the caller does', async () => {
  const upstream = await startEchoUpstream();
  const connections: unknown[] = [];
  upstream.server.on('connection', (socket) => connections.push(socket));
  const gateway = await startGateway({ adapters: [{ name: 'echo', baseUrl: upstream.url }] });
  try {
    for (let i = 0; i < 10; i++) {
      // Each caller request uses a fresh connection and even asks to close it.
      const res = await send(gateway.url, {
        path: `/v1/apis/http/echo/item/${i}`,
        headers: { ...CALLER_AUTH, connection: 'close' },
      });
      expect(res.status).toBe(200);
    }
    expect(upstream.seen).toHaveLength(10);
    expect(connections).toHaveLength(1);
    expect(upstream.seen.every((seen) => seen.headers.connection === 'keep-alive')).toBe(true);
  } finally {
    await gateway.close();
    await upstream.close();
  }
});

test('concurrent requests open connections as needed, and the gateway keeps them for reuse', async () => {
  const upstream = await startEchoUpstream();
  const connections: unknown[] = [];
  upstream.server.on('connection', (socket) => connections.push(socket));
  const gateway = await startGateway({ adapters: [{ name: 'echo', baseUrl: upstream.url }] });
  const agent = new http.Agent({ keepAlive: true });
  try {
    const burst = () =>
      Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          send(gateway.url, { path: `/v1/apis/http/echo/${i}`, headers: CALLER_AUTH, agent }),
        ),
      );
    await burst();
    const afterFirstBurst = connections.length;
    await burst();
    expect(afterFirstBurst).toBeGreaterThanOrEqual(1);
    expect(afterFirstBurst).toBeLessThanOrEqual(8);
    expect(connections.length).toBeLessThanOrEqual(8);
    expect(upstream.seen).toHaveLength(16);
  } finally {
    agent.destroy();
    await gateway.close();
    await upstream.close();
  }
});
