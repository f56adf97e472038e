import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { childPids } from './process-usage.mts';
import type { TargetName } from './options.mts';
import { freePort, request, startProcess, waitForPort, type Running } from './processes.mts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A checkout whose gateway is built and measured: this one, or another one given with --gateway-dir. */
export interface Checkout {
  readonly dir: string;
  /** The Node options its image starts the gateway with. */
  readonly nodeOptions: readonly string[];
  readonly main: string;
}

/**
 * The checkout's gateway, started as its image starts it: the runtime
 * stage's `CMD ["node", <options>..., <main>]` in gateway/Dockerfile, with
 * <main> relative to the checkout (the image's working directory).
 */
export function locateCheckout(dir: string | undefined): Checkout {
  const root = dir === undefined ? ROOT : path.resolve(dir);
  const dockerfile = path.join(root, 'gateway/Dockerfile');
  const cmd = /^CMD (\[.*\])$/m.exec(
    readFileSync(dockerfile, 'utf8')
      .split(/^FROM /m)
      .at(-1) ?? '',
  );
  const [node, ...rest] = cmd ? (JSON.parse(cmd[1]!) as string[]) : [];
  const main = rest.pop();
  if (node !== 'node' || main === undefined) {
    throw new Error(`${dockerfile}: its last stage has no CMD ["node", <options>..., <main script>]`);
  }
  return { dir: root, nodeOptions: rest, main: path.join(root, main) };
}
const SERVERS = fileURLToPath(new URL('servers/', import.meta.url));

export const HEROKU_ACCEPT = 'application/vnd.heroku+json; version=3';
const ATLAS_PREFIX = '/v1/apis/http/heroku';

export interface Secrets {
  /** What the adapter injects upstream (HEROKU_API_KEY). */
  readonly upstreamKey: string;
  /** What callers present to Atlas (ATLAS_ACCESS_TOKENS). */
  readonly callerToken: string;
}

export function makeSecrets(): Secrets {
  return { upstreamKey: randomBytes(24).toString('hex'), callerToken: randomBytes(32).toString('hex') };
}

export interface Target {
  readonly name: TargetName;
  readonly baseUrl: string;
  /** Path of the Heroku-like `GET /account` through this target. */
  readonly accountPath: string;
  /** Prefix of `/stream/download` and `/stream/upload` through this target. */
  readonly streamPrefix: string;
  /** What the client sends: the upstream key for direct, the caller token for atlas, nothing for the others. */
  readonly headers: Readonly<Record<string, string>>;
  /** The proxy process whose memory is measured (none for direct). */
  proxyPid(): number | undefined;
  /** The file the proxy logs requests to, if it logs. */
  readonly accessLog: string | undefined;
}

/** The environment of the real gateway in production mode, and nothing from the caller's shell. */
export function atlasEnvironment(upstreamUrl: string, port: number, secrets: Secrets): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    ATLAS_ADAPTERS: JSON.stringify([
      {
        name: 'heroku',
        baseUrl: upstreamUrl,
        headers: [
          { name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' },
          { name: 'Accept', value: HEROKU_ACCEPT },
        ],
      },
    ]),
    HEROKU_API_KEY: secrets.upstreamKey,
    ATLAS_ACCESS_TOKENS: secrets.callerToken,
  };
}

export interface Upstream {
  readonly url: string;
  readonly process: Running;
  /** Requests and header mismatches seen since the last reset. */
  stats(reset?: boolean): Promise<{ requests: number; mismatches: number }>;
}

export async function startUpstream(secrets: Secrets): Promise<Upstream> {
  const port = await freePort();
  const running = startProcess('upstream', process.execPath, [path.join(SERVERS, 'upstream.mts')], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: String(port),
      BENCH_UPSTREAM_KEY: secrets.upstreamKey,
    },
  });
  await waitForPort(port, running);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    process: running,
    async stats(reset = false) {
      const { body } = await request(`${url}/__stats${reset ? '?reset=1' : ''}`);
      return JSON.parse(body) as { requests: number; mismatches: number };
    },
  };
}

export function directTarget(upstream: Upstream, secrets: Secrets): Target {
  return {
    name: 'direct',
    baseUrl: upstream.url,
    accountPath: '/account',
    streamPrefix: '',
    // The client holds the key itself, so the upstream's check passes.
    headers: { Authorization: `Bearer ${secrets.upstreamKey}`, Accept: HEROKU_ACCEPT },
    proxyPid: () => undefined,
    accessLog: undefined,
  };
}

export interface StartedTarget {
  readonly target: Target;
  readonly process: Running;
}

/**
 * nginx as an ops team would set it up in front of the same upstream: one
 * worker, HTTP/1.1 keep-alive to the upstream, the two headers injected, a
 * request id passed on and returned (the gateway does the same), a JSON
 * access log written per request. Responses are buffered as by default,
 * except under /stream/, which streams both ways with no size limit.
 */
export async function startNginx(
  nginxPath: string,
  configureArguments: string,
  dir: string,
  upstream: Upstream,
  secrets: Secrets,
): Promise<StartedTarget> {
  const port = await freePort();
  const home = path.join(dir, 'nginx');
  mkdirSync(home, { recursive: true });
  // As root, nginx's worker runs as an unprivileged user that must reach its files.
  chmodSync(dir, 0o755);
  chmodSync(home, 0o755);
  const accessLog = path.join(home, 'access.log');
  const upstreamPort = new URL(upstream.url).port;
  const tempPaths = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .filter((kind) => kind === 'client_body' || !configureArguments.includes(`--without-http_${kind}_module`))
    .map((kind) => `  ${kind}_temp_path ${path.join(home, `${kind}_temp`)};`)
    .join('\n');
  const config = `worker_processes 1;
daemon off;
pid ${path.join(home, 'nginx.pid')};
error_log ${path.join(home, 'error.log')} warn;
events {
  worker_connections 4096;
}
http {
${tempPaths}
  log_format bench escape=json '{"time":"$time_iso8601","requestId":"$request_id","method":"$request_method",'
    '"path":"$uri","status":$status,"durationS":$request_time,"upstreamS":"$upstream_response_time"}';
  access_log ${accessLog} bench;

  upstream app {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header X-Request-Id $request_id;
    proxy_set_header Authorization "Bearer ${secrets.upstreamKey}";
    proxy_set_header Accept "${HEROKU_ACCEPT}";
    add_header X-Request-Id $request_id always;

    location / {
      proxy_pass http://app;
    }
    location /stream/ {
      proxy_pass http://app;
      proxy_request_buffering off;
      proxy_buffering off;
      client_max_body_size 0;
    }
  }
}
`;
  const configFile = path.join(home, 'nginx.conf');
  writeFileSync(configFile, config);
  const running = startProcess('nginx', nginxPath, ['-p', home, '-c', configFile, '-e', path.join(home, 'error.log')], {
    env: { PATH: process.env.PATH },
  });
  await waitForPort(port, running);
  const worker = await waitForWorker(running);
  return {
    process: running,
    target: {
      name: 'nginx',
      baseUrl: `http://127.0.0.1:${port}`,
      accountPath: '/account',
      streamPrefix: '',
      headers: {},
      proxyPid: () => worker,
      accessLog,
    },
  };
}

async function waitForWorker(master: Running): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const [worker] = childPids(master.pid);
    if (worker !== undefined) return worker;
    await sleep(20);
  }
  throw new Error('nginx started no worker process');
}

const NODE_PROXIES = { baseline: 'baseline.mts', node: 'node-proxy.mts', undici: 'undici-proxy.mts' } as const;

/**
 * A Node proxy in `servers/`: `baseline` (Express + http-proxy-middleware),
 * `node` (node:http alone) or `undici` (a node:http server, undici's pool).
 */
export async function startNodeProxy(
  name: keyof typeof NODE_PROXIES,
  upstream: Upstream,
  secrets: Secrets,
): Promise<StartedTarget> {
  const port = await freePort();
  const running = startProcess(name, process.execPath, [path.join(SERVERS, NODE_PROXIES[name])], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: String(port),
      BENCH_UPSTREAM_URL: upstream.url,
      HEROKU_API_KEY: secrets.upstreamKey,
    },
    cwd: ROOT,
  });
  await waitForPort(port, running);
  return {
    process: running,
    target: {
      name,
      baseUrl: `http://127.0.0.1:${port}`,
      accountPath: '/account',
      streamPrefix: '',
      headers: {},
      proxyPid: () => running.pid,
      accessLog: undefined,
    },
  };
}

/**
 * The real gateway, as deployed: the build started with the image's Node
 * options, NODE_ENV=production, caller tokens required, request logging at
 * its default level (info: one JSON line per request) with stdout appended to
 * a file, as a log shipper would read it.
 */
export async function startAtlas(
  checkout: Checkout,
  dir: string,
  upstream: Upstream,
  secrets: Secrets,
  nodeArgs: readonly string[] = [],
  name = 'atlas',
): Promise<StartedTarget> {
  const port = await freePort();
  const accessLog = path.join(dir, `${name}.log`);
  // Appending lets the benchmark truncate the file between runs while the gateway writes.
  const fd = openSync(accessLog, 'a');
  const running = startProcess(name, process.execPath, [...checkout.nodeOptions, ...nodeArgs, checkout.main], {
    env: atlasEnvironment(upstream.url, port, secrets),
    stdout: fd,
    cwd: checkout.dir,
  });
  closeSync(fd);
  await waitForPort(port, running);
  return {
    process: running,
    target: {
      name: 'atlas',
      baseUrl: `http://127.0.0.1:${port}`,
      accountPath: `${ATLAS_PREFIX}/account`,
      streamPrefix: ATLAS_PREFIX,
      headers: { Authorization: `Bearer ${secrets.callerToken}` },
      proxyPid: () => running.pid,
      accessLog,
    },
  };
}
