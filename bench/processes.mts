import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Running {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The last few kilobytes of its stderr, to explain a failure. */
  stderrTail(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();

// A benchmark interrupted half-way must not leave servers behind.
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping\n`);
    process.exit(130);
  });
}

export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; stdout?: number | 'ignore'; cwd?: string },
): Running {
  const stdio: StdioOptions = ['ignore', options.stdout ?? 'ignore', 'pipe'];
  const child = spawn(command, args, { env: options.env, stdio, cwd: options.cwd });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  children.add(child);
  let exited = false;
  child.once('exit', () => {
    exited = true;
    children.delete(child);
  });
  let tail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-4096);
  });
  return {
    name,
    pid: child.pid,
    child,
    stderrTail: () => tail,
    exited: () => exited,
    stop: () => stopProcess(child, () => exited),
  };
}

async function stopProcess(child: ChildProcess, exited: () => boolean): Promise<void> {
  if (exited()) return;
  const done = once(child, 'exit');
  child.kill('SIGTERM');
  const outcome = await Promise.race([done.then(() => 'exited' as const), sleep(10_000).then(() => 'late' as const)]);
  if (outcome === 'late') {
    child.kill('SIGKILL');
    await done;
  }
}

/** A port free right now on 127.0.0.1 (for servers that cannot report the one they bound). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Waits until something accepts TCP connections on the port. */
export async function waitForPort(port: number, owner: Running, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (owner.exited()) throw new Error(`${owner.name} exited during start-up:\n${owner.stderrTail()}`);
    if (await canConnect(port)) return;
    if (Date.now() > deadline) throw new Error(`${owner.name} is not listening on ${port} after ${timeoutMs} ms`);
    await sleep(20);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface SmallResponse {
  readonly status: number;
  readonly body: string;
}

/** One request on a fresh connection, for set-up checks (not for measuring). */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<SmallResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false });
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`${url}: no answer in time`)));
    req.once('error', reject);
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.once('error', reject);
    });
    req.end();
  });
}
