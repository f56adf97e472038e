import type { ClientRequest } from 'node:http';
import { TLSSocket } from 'node:tls';

/**
 * Bounds how long an upstream may take, without counting the time the caller
 * takes to send its body: a 1 GiB upload over a slow link is not a slow
 * upstream. The clock runs while connecting (TCP and TLS) and again once the
 * body has been sent, until the response headers arrive; it then calls
 * `expire`. The caller's own upload time is bounded by the server's request
 * timeout instead.
 */
export function limitResponseTime(proxyReq: ClientRequest, timeoutMs: number, expire: () => void): void {
  let timer: NodeJS.Timeout | undefined = setTimeout(expire, timeoutMs);
  let connected = false;
  const stop = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  const onConnected = () => {
    connected = true;
    // Uploading: the caller sets the pace, not the upstream.
    if (!proxyReq.writableFinished) stop();
  };
  const onSent = () => {
    if (!connected) return;
    stop();
    timer = setTimeout(expire, timeoutMs);
  };

  // A new socket is still connecting when assigned; a reused keep-alive one is ready.
  const socket = proxyReq.socket!;
  if (socket.connecting) socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', onConnected);
  else onConnected();
  proxyReq.once('finish', onSent);
  proxyReq.once('response', stop);
  proxyReq.once('close', stop);
}
