import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { isLoopbackHost } from '@atlas/gateway/cross-site';
import { createProxyHandler } from './create-proxy-handler';
import type { ProxyTarget } from './proxy-targets';

export interface StartProxiesOptions {
  readonly targets: readonly ProxyTarget[];
  /** The address to listen on: loopback unless the caller named another one. */
  readonly address: string;
  readonly gateway: URL;
  readonly token: string;
  readonly connectTimeoutMs: number;
  readonly report: (line: string) => void;
}

export interface RunningProxy {
  readonly adapter: string;
  /** Where clients reach it, such as http://127.0.0.1:5000 (the bound port, also for port 0). */
  readonly url: string;
  /** Where it forwards: the gateway URL of the adapter. */
  readonly forwardsTo: string;
}

export interface RunningProxies {
  readonly proxies: readonly RunningProxy[];
  /** Stops listening, lets requests in flight finish for up to `graceMs`, then cuts what is left. */
  close(graceMs: number): Promise<void>;
  /** Cuts every connection now (a second Ctrl-C). */
  closeNow(): void;
}

/** One listener per target, all on `address`, sharing one keep-alive agent to the gateway. */
export async function startProxies(options: StartProxiesOptions): Promise<RunningProxies> {
  const agent =
    options.gateway.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const extraHosts = acceptedHosts(options.address);
  const servers: http.Server[] = [];
  const proxies: RunningProxy[] = [];

  let closing = false;
  const closeNow = () => {
    for (const server of servers) server.closeAllConnections();
    agent.destroy();
  };
  const close = async (graceMs: number) => {
    closing = true;
    const closed = Promise.all(
      servers.filter((server) => server.listening).map((server) => new Promise((done) => server.close(done))),
    );
    const timer = setTimeout(closeNow, graceMs);
    await closed;
    clearTimeout(timer);
    agent.destroy();
  };

  try {
    for (const target of options.targets) {
      // No overall request timeout: uploads stream for as long as they take.
      const server = http.createServer(
        { requestTimeout: 0 },
        createProxyHandler({
          adapter: target.adapter,
          gateway: options.gateway,
          token: options.token,
          extraHosts,
          agent,
          connectTimeoutMs: options.connectTimeoutMs,
          report: options.report,
        }),
      );
      servers.push(server);
      endConnectionsWhenClosing(server, () => closing);
      const port = await listen(server, target.port, options.address);
      proxies.push({
        adapter: target.adapter,
        url: `http://${displayHost(options.address)}:${port}`,
        forwardsTo: `${options.gateway.origin}${options.gateway.pathname.replace(/\/+$/, '')}/v1/apis/http/${target.adapter}`,
      });
    }
  } catch (error) {
    await close(0);
    throw error;
  }
  return { proxies, close, closeNow };
}

/**
 * Once `closing()`, a connection must not outlive its response: server.close()
 * ends only the connections idle at that moment, and one busy with a response
 * would otherwise stay open for its client's next request, holding the exit
 * until keep-alive runs out.
 */
function endConnectionsWhenClosing(server: http.Server, closing: () => boolean): void {
  // Before the proxy handler, so that a response it writes at once says so too.
  server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (closing()) res.setHeader('connection', 'close');
    // 'close' follows the response's end, once its connection is idle again.
    res.once('close', () => {
      if (closing()) server.closeIdleConnections();
    });
  });
}

async function listen(server: http.Server, port: number, address: string): Promise<number> {
  server.listen(port, address.replace(/^\[(.*)\]$/, '$1'));
  try {
    await once(server, 'listening');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    const hint =
      code === 'EADDRINUSE'
        ? ': another program uses the port; pass --port or NAME:PORT (0 picks a free port)'
        : code === 'EADDRNOTAVAIL'
          ? ': this machine has no such address'
          : '';
    throw new Error(`cannot listen on ${displayHost(address)}:${port}: ${code}${hint}`, { cause: error });
  }
  return (server.address() as AddressInfo).port;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '[::]';
}

/**
 * The Host values accepted besides loopback: the address the caller named,
 * and for a wildcard address every address of this machine. Never a DNS
 * name the caller did not give: that is what DNS rebinding relies on.
 */
function acceptedHosts(address: string): string[] {
  if (isLoopbackHost(address)) return [];
  if (!isWildcard(address)) return [address];
  return Object.values(os.networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
}

/** The host part of the proxy's URL: a wildcard is reached locally through loopback. */
function displayHost(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::' || address === '[::]') return '[::1]';
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}
