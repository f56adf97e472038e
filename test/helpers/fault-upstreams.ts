import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';

/** A TCP server on 127.0.0.1 that speaks whatever its connection handler writes, or nothing at all. */
export interface RawUpstream {
  readonly url: string;
  /** Every connection accepted so far, in order. */
  readonly sockets: net.Socket[];
  close(): Promise<void>;
}

/**
 * Starts a raw TCP upstream: unlike an HTTP server it can hang, reset, cut a
 * response short or answer with bytes that are not HTTP.
 */
export async function startRawUpstream(onConnection: (socket: net.Socket) => void): Promise<RawUpstream> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    // Resets provoked on purpose surface here; the test observes them elsewhere.
    socket.on('error', () => {});
    onConnection(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      if (!server.listening) return;
      const closed = once(server, 'close');
      server.close();
      await closed;
    },
  };
}

/** Runs `respond` once the first bytes of a request have arrived on the connection. */
export function onRequestBytes(respond: (socket: net.Socket) => void): (socket: net.Socket) => void {
  return (socket) => socket.once('data', () => respond(socket));
}

/**
 * A URL on a port that was listened on and then closed, so a connection to it
 * is refused (nothing else on this machine is expected to take it meanwhile).
 */
export async function refusedUrl(): Promise<string> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const closed = once(server, 'close');
  server.close();
  await closed;
  return `http://127.0.0.1:${port}`;
}
