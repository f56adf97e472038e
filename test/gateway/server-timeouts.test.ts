import http from 'node:http';
import pino from 'pino';
import { startServer } from '../../gateway/src/server';

test('the server bounds slow clients: 20 s for headers, 300 s for a whole request, 65 s keep-alive (above the ALB 60 s idle timeout)', async () => {
  const running = await startServer(
    (_req, res) => res.end(),
    { port: 0, host: '127.0.0.1', shutdownGraceMs: 1000 },
    pino({ level: 'silent' }),
  );
  try {
    expect(running.server).toBeInstanceOf(http.Server);
    expect(running.server.headersTimeout).toBe(20_000);
    expect(running.server.requestTimeout).toBe(300_000);
    expect(running.server.keepAliveTimeout).toBe(65_000);
    expect(running.server.keepAliveTimeout).toBeGreaterThan(60_000);
  } finally {
    await running.shutdown();
  }
});
