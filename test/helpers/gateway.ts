import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../../gateway/src/app';
import { createAuthenticator } from '../../gateway/src/auth/authenticate';
import { GatewayRequest } from '../../gateway/src/http/context';
import { parseAdaptersJson } from '../../gateway/src/config/validate-adapters';
import { resolveAdapters } from '../../gateway/src/config/resolve-adapters';
import type { AdapterInput } from '../../gateway/src/config/schema';
import { createLogger } from '../../gateway/src/logger';
import type { BodyMemoryPacer } from '../../gateway/src/proxy/body-memory';
import type { CallerAuth } from '../../gateway/src/auth/caller-auth';
import { close, listen } from './http';

export const REPO_ROOT = path.resolve(__dirname, '../..');
/**
 * The runtime stage's `CMD ["node", <options>..., <main>]` of
 * gateway/Dockerfile, split into its parts: spawned gateways run as the image
 * runs them.
 */
export function readImageCommand(): { readonly nodeOptions: string[]; readonly main: string } {
  const dockerfile = readFileSync(path.join(REPO_ROOT, 'gateway/Dockerfile'), 'utf8');
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile.split(/^FROM /m).at(-1)!);
  if (!cmd) throw new Error('gateway/Dockerfile: the runtime stage has no CMD in exec form');
  const [node, ...rest] = JSON.parse(cmd[1]!) as string[];
  if (node !== 'node' || rest.length === 0) throw new Error(`gateway/Dockerfile: CMD does not run node: ${cmd[1]}`);
  return { nodeOptions: rest.slice(0, -1), main: rest.at(-1)! };
}

const IMAGE_COMMAND = readImageCommand();
/** The bundled gateway the image runs (gateway/bundle/main.js, built by `npm test`). */
export const GATEWAY_MAIN = path.join(REPO_ROOT, IMAGE_COMMAND.main);

/** A static caller token valid for the in-process gateway by default. */
export const CALLER_TOKEN = 'caller-token-0123456789abcdef0123456789';
export const CALLER_AUTH = { authorization: `Bearer ${CALLER_TOKEN}` } as const;

export interface InProcessGateway {
  readonly url: string;
  readonly server: http.Server;
  /** Every log line written so far, as raw JSON text. */
  readonly logLines: string[];
  /** The log lines, parsed. */
  logs(): Record<string, unknown>[];
  close(): Promise<void>;
}

export interface InProcessOptions {
  readonly adapters: AdapterInput[];
  /** Environment for `${{ VAR }}` substitution. */
  readonly env?: Record<string, string>;
  /** Defaults to the static CALLER_TOKEN only. */
  readonly auth?: Partial<CallerAuth>;
  readonly bodyMemory?: BodyMemoryPacer;
}

/**
 * The real gateway app (config parsing, secret resolution, auth, logging,
 * proxy) served by a real HTTP server on 127.0.0.1, in this process.
 */
export async function startGateway(options: InProcessOptions): Promise<InProcessGateway> {
  const parsed = parseAdaptersJson(JSON.stringify(options.adapters));
  const { adapters } = resolveAdapters(parsed, options.env ?? {});
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  const app = createApp({
    adapters,
    authenticate: createAuthenticator({
      accessTokens: [{ caller: 'default', token: CALLER_TOKEN }],
      issuers: [],
      disabled: false,
      ...options.auth,
    }),
    logger: createLogger('info', sink),
    bodyMemory: options.bodyMemory,
  });
  // As startServer does: the requests carry the gateway's fields from the start.
  const server = http.createServer({ IncomingMessage: GatewayRequest }, app);
  // As in main.ts: one 'close' listener per adapter proxy.
  server.setMaxListeners(10 + adapters.length);
  const url = await listen(server);
  return {
    url,
    server,
    logLines,
    logs: () => logLines.map((line) => JSON.parse(line) as Record<string, unknown>),
    close: () => close(server),
  };
}

export interface GatewayProcess {
  readonly process: ChildProcess;
  /** Set once the gateway has logged that it listens. */
  readonly url: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
}

/**
 * Runs the gateway as the image does (the bundle, with the image's Node
 * options) as a real process with exactly `env` (plus PATH), and waits until
 * it listens or exits.
 */
export async function spawnGateway(
  env: Record<string, string>,
  cwd = REPO_ROOT,
  main = GATEWAY_MAIN,
): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [...IMAGE_COMMAND.nodeOptions, main], {
    cwd,
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve) => {
    const check = () => {
      const match = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"Atlas gateway listening"/.exec(out);
      if (match) resolve(match[1]!);
    };
    child.stdout.on('data', check);
    void exited.then(() => resolve(''));
  });
  return { process: child, url, stdout: () => out, stderr: () => err, exited };
}

/** Stops a spawned gateway if it is still running. */
export async function stopGateway(gateway: GatewayProcess): Promise<void> {
  if (gateway.process.exitCode === null && gateway.process.signalCode === null) {
    gateway.process.kill('SIGKILL');
    await gateway.exited;
  }
}

/** A refused start-up, as the gateway reports it: one JSON line on stdout. */
export interface StartupRefusal {
  /** The log line's message: "cannot start: <summary>". */
  readonly msg: string;
  readonly problems: readonly { readonly where: string; readonly message: string }[];
  /** The same as the readable text a terminal gets: the message, then one "  - where: message" line per problem. */
  readonly text: string;
}

/** The refusal line of a gateway's stdout; fails the test if there is none, or more than one line. */
export function readRefusal(stdout: string): StartupRefusal {
  const lines = stdout.split('\n').filter((line) => line !== '');
  if (lines.length !== 1) throw new Error(`expected one refusal line on stdout, got:\n${stdout}`);
  const line = JSON.parse(lines[0]!) as { level: string; msg: string; problems?: StartupRefusal['problems'] };
  if (line.level !== 'fatal' || !line.msg.startsWith('cannot start: ')) {
    throw new Error(`not a refusal line: ${lines[0]}`);
  }
  const problems = line.problems ?? [];
  const text = [line.msg, ...problems.map(({ where, message }) => `  - ${where}: ${message}`)].join('\n');
  return { msg: line.msg, problems, text };
}
