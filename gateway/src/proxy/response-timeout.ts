import type { ClientRequest } from 'node:http';
import { TLSSocket } from 'node:tls';
import type { ExpiryList } from './expiry-list';

/**
 * Bounds how long an upstream may take, without counting the time the caller
 * takes to send its body: a 1 GiB upload over a slow link is not a slow
 * upstream. The clock (`clock`, one per adapter: see `ExpiryList`) runs
 * while connecting (TCP and TLS) and again once the body has been sent,
 * until the response headers arrive; the adapter's proxy stops it then, or
 * when the upstream request closes. The caller's own upload time is bounded
 * by the server's request timeout instead.
 *
 * A request without a body, nearly every one, has nothing to pause for:
 * its clock just runs, and nothing is created for it.
 */
export function limitResponseTime(proxyReq: ClientRequest, hasBody: boolean, clock: ExpiryList<ClientRequest>): void {
  clock.add(proxyReq);
  if (!hasBody) return;

  let connected = false;
  let answered = false;
  const onConnected = () => {
    connected = true;
    // Uploading: the caller sets the pace, not the upstream.
    if (!proxyReq.writableFinished) clock.delete(proxyReq);
  };
  const onSent = () => {
    // An upstream may answer before the upload ends (a 413, say): its response is on its way.
    if (connected && !answered) clock.add(proxyReq);
  };
  // A new socket is still connecting when assigned; a reused keep-alive one is ready.
  const socket = proxyReq.socket!;
  if (socket.connecting) socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', onConnected);
  else onConnected();
  proxyReq.once('finish', onSent);
  proxyReq.once('response', () => (answered = true));
}
