/**
 * Builds the gateway image with the documented command and checks it for
 * real, in a private Docker engine (engine.mts) on a stand-in for the
 * official base image (standin-base.sh). `.ci/run` runs it after `npm test`:
 *
 *   node .ci/image/check.mts
 *
 * It needs root (the engine does); it installs docker.io and debootstrap from
 * Debian when they are missing. Where the engine cannot run, the check says
 * so and fails. ATLAS_SKIP_IMAGE_CHECK=1 skips it on a developer's machine;
 * CI (CI set) ignores that flag. Whatever happens, it removes the containers
 * and images it made, stops the engine by its PID and removes its directories.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { CLIENT, type Engine, EngineUnavailable, startEngine } from './engine.mts';
import { findFreePort, get, SLOW_MS, startUpstream, type Upstream } from './upstream.mts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BASE = 'atlas-image-check/standin-base:latest';
const IMAGE = `atlas-image-check/gateway:${process.pid}`;
const CALLER_TOKEN = 'image-check-caller-token-0123456789abcdef';
const ECHO_KEY = 'image-check-echo-key-0123456789';
/** No container of the check may need the unprivileged user to write, or more rights than these. */
const HARDENED = ['--user', '1000:1000', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges'];
const READ_ONLY = ['--read-only', ...HARDENED];
const STOP_DELAYS_MS = [0, 100, 250, 500];
/** Bounds: what "soon", "promptly", "within a second" and "a few MB" mean here. */
const HEALTHY_WITHIN_MS = 5_000;
const EARLY_STOP_WITHIN_MS = 1_000;
const REFUSAL_WITHIN_MS = 5_000;
const MAX_ADDED_BYTES = 10 * 1024 * 1024;

const say = (line = ''): void => void process.stdout.write(`${line}\n`);

interface Outcome {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}
const outcomes: Outcome[] = [];
const figures: string[] = [];

async function check(name: string, body: () => Promise<string>): Promise<void> {
  let outcome: Outcome;
  try {
    outcome = { name, ok: true, detail: await body() };
  } catch (error) {
    outcome = { name, ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
  outcomes.push(outcome);
  say(`${outcome.ok ? 'ok  ' : 'FAIL'} ${name}: ${outcome.detail}`);
}

function ensure(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const ms = (value: number): string => `${Math.round(value)} ms`;

function figure(text: string): void {
  figures.push(text);
}

/** The runtime stage's ENTRYPOINT and CMD, as gateway/Dockerfile writes them. */
function readDockerfile(): { entrypoint: string[]; cmd: string[] } {
  const runtime = readFileSync(path.join(ROOT, 'gateway/Dockerfile'), 'utf8')
    .split(/^FROM /m)
    .at(-1)!;
  const read = (instruction: string): string[] => {
    const found = new RegExp(`^${instruction} (\\[.*\\])$`, 'm').exec(runtime);
    if (!found) throw new Error(`gateway/Dockerfile: the runtime stage has no ${instruction} in exec form`);
    return JSON.parse(found[1]!) as string[];
  };
  return { entrypoint: read('ENTRYPOINT'), cmd: read('CMD') };
}

function ensurePackages(): void {
  const missing = ['dockerd', 'debootstrap'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0,
  );
  if (missing.length === 0) return;
  say(`installing docker.io and debootstrap from Debian (missing: ${missing.join(', ')})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', 'docker.io', 'debootstrap'],
  ]) {
    const result = spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (result.status !== 0) throw new EngineUnavailable(`apt-get ${args.join(' ')} failed`);
  }
}

/** Runs standin-base.sh, which makes (or takes from its cache) the stand-in and imports it as BASE. */
function makeStandinBase(engine: Engine): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = spawn('bash', [path.join(ROOT, '.ci/image/standin-base.sh'), BASE], {
      env: { ...engine.env, ATLAS_DOCKER: CLIENT },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    script.once('error', reject);
    script.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`standin-base.sh exited with ${code}`))));
  });
}

async function main(): Promise<number> {
  if (process.env.ATLAS_SKIP_IMAGE_CHECK === '1') {
    if (!process.env.CI) {
      say('image check: skipped (ATLAS_SKIP_IMAGE_CHECK=1); CI runs it');
      return 0;
    }
    say('image check: ATLAS_SKIP_IMAGE_CHECK=1 is ignored in CI');
  }
  if (process.getuid?.() !== 0) {
    say('image check: FAILED: the Docker engine needs root, and this runs without it.');
    say('Run it as root, or set ATLAS_SKIP_IMAGE_CHECK=1 to skip it outside CI.');
    return 1;
  }
  const interfacesBefore = Object.keys(os.networkInterfaces()).sort();
  let engine: Engine;
  const started = performance.now();
  try {
    ensurePackages();
    engine = await startEngine();
  } catch (error) {
    if (!(error instanceof EngineUnavailable)) throw error;
    say(`image check: FAILED: ${error.message}`);
    say('The image was not built or checked. Set ATLAS_SKIP_IMAGE_CHECK=1 to skip it outside CI.');
    return 1;
  }
  say(`image check: private Docker engine up (PID ${engine.pid}, ${engine.dir}) in ${ms(performance.now() - started)}`);

  const containers = new Set<string>();
  let upstream: Upstream | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanUp = (): Promise<void> =>
    (cleaned ??= (async () => {
      await upstream?.close().catch(() => undefined);
      if (containers.size > 0) await engine.docker(['rm', '--force', ...containers]);
      await engine.docker(['rmi', '--force', IMAGE, BASE]);
      await engine.stop();
    })());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      say(`image check: ${signal}: cleaning up`);
      void cleanUp().finally(() => process.exit(1));
    });
  }

  try {
    await checkImage(engine, containers, (running) => (upstream = running));
  } catch (error) {
    outcomes.push({ name: 'image check', ok: false, detail: (error as Error).message });
    say(`FAIL ${(error as Error).message}`);
  } finally {
    await cleanUp();
  }
  const interfacesAfter = Object.keys(os.networkInterfaces()).sort();
  if (!isDeepStrictEqual(interfacesBefore, interfacesAfter)) {
    outcomes.push({ name: 'networking', ok: false, detail: 'the network interfaces changed' });
    say(`FAIL networking: interfaces were ${interfacesBefore.join(', ')}, are ${interfacesAfter.join(', ')}`);
  }

  figure(`whole image check: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  say();
  say('image check figures:');
  for (const line of figures) say(`  ${line}`);
  const failed = outcomes.filter((outcome) => !outcome.ok);
  say(
    failed.length === 0
      ? `image check: all ${outcomes.length} checks passed`
      : `image check: FAILED ${failed.length} of ${outcomes.length} checks: ${failed.map(({ name }) => name).join('; ')}`,
  );
  return failed.length === 0 ? 0 : 1;
}

async function checkImage(
  engine: Engine,
  containers: Set<string>,
  onUpstream: (upstream: Upstream) => void,
): Promise<void> {
  let started = performance.now();
  await makeStandinBase(engine);
  figure(`stand-in base ready: ${ms(performance.now() - started)}`);

  // The documented command, on the stand-in base and the host's network (the engine has no bridge).
  // The build passes on the machine's proxy settings, if any: npm in the build stage needs them.
  const proxyArgs = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']
    .filter((name) => process.env[name] !== undefined)
    .flatMap((name) => ['--build-arg', name]);
  say(`image check: docker build -f gateway/Dockerfile -t ${IMAGE} --build-arg NODE_IMAGE=${BASE} --network host .`);
  const build = await engine.docker(
    [
      'build',
      '-f',
      'gateway/Dockerfile',
      '-t',
      IMAGE,
      '--build-arg',
      `NODE_IMAGE=${BASE}`,
      '--network',
      'host',
      ...proxyArgs,
      '.',
    ],
    { cwd: ROOT, timeoutMs: 900_000 },
  );
  if (build.code !== 0) {
    throw new Error(
      `the image build failed:\n${`${build.stdout}\n${build.stderr}`.trim().split('\n').slice(-30).join('\n')}`,
    );
  }
  figure(`image build: ${ms(build.ms)}`);

  const upstream = await startUpstream();
  onUpstream(upstream);
  const adapters = JSON.stringify([
    { name: 'echo', baseUrl: upstream.url, headers: [{ name: 'Authorization', value: 'Bearer ${{ ECHO_KEY }}' }] },
  ]);
  const gatewayEnv = (port: number) => [
    '--env',
    `PORT=${port}`,
    '--env',
    `ATLAS_ADAPTERS=${adapters}`,
    '--env',
    `ECHO_KEY=${ECHO_KEY}`,
    '--env',
    `ATLAS_ACCESS_TOKENS=${CALLER_TOKEN}`,
  ];
  /** Starts a gateway container (detached, host network) and returns its id. */
  const run = async (flags: string[], env: string[]): Promise<string> => {
    const { stdout } = await engine.dockerOk(['run', '--detach', '--network', 'host', ...flags, ...env, IMAGE]);
    const id = stdout.trim();
    containers.add(id);
    return id;
  };
  const stop = async (id: string): Promise<number> => (await engine.dockerOk(['stop', id])).ms;
  const exitCode = async (id: string): Promise<number> =>
    Number((await engine.dockerOk(['inspect', '--format', '{{.State.ExitCode}}', id])).stdout.trim());
  const logs = async (id: string): Promise<{ stdout: string; stderr: string; lines: Record<string, unknown>[] }> => {
    const { stdout, stderr } = await engine.dockerOk(['logs', id]);
    const lines = stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          throw new Error(`a stdout line is not JSON: ${line}`);
        }
      });
    return { stdout, stderr, lines };
  };
  /** Polls /healthz until it answers 200; returns the time since `since`. */
  const waitHealthy = async (port: number, since: number): Promise<number> => {
    for (;;) {
      const reply = await get(port, '/healthz').catch(() => undefined);
      if (reply?.status === 200) return performance.now() - since;
      if (performance.now() - since > 30_000) throw new Error('/healthz did not answer 200 within 30 s');
      await sleep(10);
    }
  };
  const cleanLogs = async (id: string): Promise<Record<string, unknown>[]> => {
    const { stderr, lines } = await logs(id);
    ensure(stderr === '', `stderr is not empty: ${stderr.trim()}`);
    return lines;
  };
  const endsStopped = (lines: Record<string, unknown>[]): void =>
    ensure(lines.at(-1)?.msg === 'stopped', `the last log line is not "stopped": ${JSON.stringify(lines.at(-1))}`);

  const [base, image] = JSON.parse((await engine.dockerOk(['image', 'inspect', BASE, IMAGE])).stdout) as {
    Size: number;
    Config: { User: string; Cmd: string[]; Entrypoint: string[]; Env: string[] };
  }[];
  const dockerfile = readDockerfile();

  await check('image config', async () => {
    ensure(image!.Config.User === 'node', `user is "${image!.Config.User}", not node`);
    const ids = await engine.dockerOk(['run', '--rm', '--network', 'none', '--entrypoint', 'id', IMAGE]);
    ensure(/^uid=1000\(node\) gid=1000\(node\)/.test(ids.stdout), `the image's user is ${ids.stdout.trim()}`);
    ensure(isDeepStrictEqual(image!.Config.Cmd, dockerfile.cmd), `CMD is ${JSON.stringify(image!.Config.Cmd)}`);
    ensure(
      isDeepStrictEqual(image!.Config.Entrypoint, dockerfile.entrypoint),
      `ENTRYPOINT is ${JSON.stringify(image!.Config.Entrypoint)}`,
    );
    ensure(image!.Config.Env.includes('NODE_ENV=production'), `NODE_ENV=production is not set`);
    return `user node (${ids.stdout.trim()}), ENTRYPOINT ${dockerfile.entrypoint.join(' ')}, CMD ${dockerfile.cmd.join(' ')}, NODE_ENV=production`;
  });

  await check('runtime stage', async () => {
    const files = await engine.dockerOk([
      'run',
      '--rm',
      '--network',
      'none',
      '--entrypoint',
      'find',
      IMAGE,
      '/app',
      '-mindepth',
      '1',
    ]);
    const expected = [
      '/app/gateway',
      '/app/gateway/bundle',
      '/app/gateway/bundle/main.js',
      '/app/gateway/bundle/serve.js',
    ];
    const found = files.stdout.trim().split('\n').sort();
    ensure(isDeepStrictEqual(found, expected), `/app holds ${found.join(', ')}`);
    const writable = await engine.dockerOk([
      'run',
      '--rm',
      '--network',
      'none',
      '--user',
      '1000:1000',
      '--entrypoint',
      'find',
      IMAGE,
      '/app',
      '/usr/bin/tini',
      '-writable',
    ]);
    ensure(writable.stdout.trim() === '', `writable by uid 1000: ${writable.stdout.trim()}`);
    // The runtime stage's own layers, above the base's: only COPY (no RUN) and a few MB in all.
    const history = async (tag: string) =>
      (
        await engine.dockerOk(['history', '--no-trunc', '--human=false', '--format', '{{.Size}}\t{{.CreatedBy}}', tag])
      ).stdout
        .trim()
        .split('\n');
    const added = (await history(IMAGE)).slice(0, -(await history(BASE)).length);
    const filled = added.map((line) => line.split('\t')).filter(([size]) => Number(size) > 0);
    const notCopies = filled.filter(([, createdBy]) => !/#\(nop\) COPY /.test(createdBy ?? ''));
    ensure(notCopies.length === 0, `layers that are not COPY: ${notCopies.map(([, by]) => by).join('; ')}`);
    const addedBytes = image!.Size - base!.Size;
    figure(`image size: ${(image!.Size / 1e6).toFixed(1)} MB, ${(addedBytes / 1e6).toFixed(2)} MB over the base`);
    ensure(addedBytes <= MAX_ADDED_BYTES, `the runtime stage adds ${(addedBytes / 1e6).toFixed(1)} MB over the base`);
    return `/app holds the bundle only, nothing writable by uid 1000, ${filled.length} COPY layers adding ${(addedBytes / 1e6).toFixed(2)} MB`;
  });

  // One container read-only, unprivileged, no tmpfs: start, answers, logs.
  const port = await findFreePort();
  started = performance.now();
  const readOnly = await run(READ_ONLY, gatewayEnv(port));
  await check('read-only start', async () => {
    const healthyAfter = await waitHealthy(port, started);
    figure(`/healthz 200 after: ${ms(healthyAfter)} from docker run (read-only)`);
    ensure(healthyAfter < HEALTHY_WITHIN_MS, `/healthz answered 200 only after ${ms(healthyAfter)}`);
    return `/healthz 200 ${ms(healthyAfter)} after docker run, under --read-only ${HARDENED.join(' ')}`;
  });

  await check('proxied request', async () => {
    const reply = await get(port, '/v1/apis/http/echo/account?x=1', { authorization: `Bearer ${CALLER_TOKEN}` });
    ensure(reply.status === 200, `status ${reply.status}: ${reply.body}`);
    const seen = upstream.received.at(-1);
    ensure(seen?.url === '/account?x=1', `the upstream saw ${JSON.stringify(seen?.url)}`);
    ensure(seen.headers.authorization === `Bearer ${ECHO_KEY}`, 'the upstream did not get the adapter header');
    ensure(!JSON.stringify(seen.headers).includes(CALLER_TOKEN), "the caller's token reached the upstream");
    const refused = await get(port, '/v1/apis/http/echo/account');
    ensure(refused.status === 401, `without a token: status ${refused.status}`);
    ensure(/^application\/json/.test(refused.headers['content-type'] ?? ''), 'the 401 is not JSON');
    const body = JSON.parse(refused.body) as { id?: unknown; message?: unknown };
    ensure(typeof body.id === 'string' && typeof body.message === 'string', `the 401 body is ${refused.body}`);
    return `upstream got Authorization: Bearer <ECHO_KEY> and not the caller's token; no token: 401 ${body.id}`;
  });

  await check('read-only logs and stop', async () => {
    const stopMs = await stop(readOnly);
    const code = await exitCode(readOnly);
    ensure(code === 0, `exit code ${code}`);
    const lines = await cleanLogs(readOnly);
    endsStopped(lines);
    return `exit 0 after docker stop (${ms(stopMs)}); ${lines.length} stdout lines, all JSON; stderr empty`;
  });

  await check('stop with a request in flight', async () => {
    const inFlightPort = await findFreePort();
    const id = await run(READ_ONLY, gatewayEnv(inFlightPort));
    await waitHealthy(inFlightPort, performance.now());
    const arrived = upstream.nextRequest();
    const reply = get(inFlightPort, '/v1/apis/http/echo/slow', { authorization: `Bearer ${CALLER_TOKEN}` });
    await arrived;
    const stopMs = await stop(id);
    const answered = await reply;
    ensure(answered.status === 200, `the in-flight request got ${answered.status}`);
    ensure((JSON.parse(answered.body) as { url?: string }).url === '/slow', `its body is ${answered.body}`);
    const code = await exitCode(id);
    ensure(code === 0, `exit code ${code}`);
    const lines = await cleanLogs(id);
    endsStopped(lines);
    ensure(
      lines.some((line) => String(line.path).endsWith('/slow') && line.status === 200),
      'no request log line for the in-flight request',
    );
    figure(`docker stop with a request in flight (upstream answers after ${SLOW_MS} ms): ${ms(stopMs)}`);
    return `the request got its 200, docker stop took ${ms(stopMs)} (upstream ${SLOW_MS} ms), exit 0`;
  });

  // What `docker stop` costs on this machine, for a process that ends as soon as it gets SIGTERM.
  const sleeper = await engine.dockerOk([
    'run',
    '--detach',
    '--network',
    'none',
    '--entrypoint',
    '/usr/bin/tini',
    IMAGE,
    '--',
    'sleep',
    '60',
  ]);
  containers.add(sleeper.stdout.trim());
  figure(
    `docker stop of a process that ends at once (the engine's own cost): ${ms(await stop(sleeper.stdout.trim()))}`,
  );

  for (const delayMs of STOP_DELAYS_MS) {
    await check(`stop ${delayMs} ms after start`, async () => {
      const id = await run(READ_ONLY, gatewayEnv(await findFreePort()));
      await sleep(delayMs);
      const stopMs = await stop(id);
      const code = await exitCode(id);
      figure(`docker stop ${delayMs} ms after docker run: ${ms(stopMs)}, exit ${code}`);
      ensure(code === 0, `exit code ${code} after ${ms(stopMs)}`);
      ensure(stopMs < EARLY_STOP_WITHIN_MS, `docker stop took ${ms(stopMs)}`);
      await cleanLogs(id);
      return `ended in ${ms(stopMs)}, exit 0, without --init`;
    });
  }

  await check('refusal of an unset ${{ VAR }} on HOST=0.0.0.0', async () => {
    const missing = 'ATLAS_IMAGE_CHECK_UNSET';
    const refusing = JSON.stringify([
      { name: 'echo', baseUrl: upstream.url, headers: [{ name: 'Authorization', value: `Bearer \${{ ${missing} }}` }] },
    ]);
    const since = performance.now();
    const id = await run(READ_ONLY, [
      '--env',
      `PORT=${await findFreePort()}`,
      '--env',
      `ATLAS_ADAPTERS=${refusing}`,
      '--env',
      `ATLAS_ACCESS_TOKENS=${CALLER_TOKEN}`,
    ]);
    const waited = await engine.dockerOk(['wait', id], { timeoutMs: 30_000 });
    const exitedAfter = performance.now() - since;
    ensure(waited.stdout.trim() === '1', `exit code ${waited.stdout.trim()}`);
    figure(`refusal exit: ${ms(exitedAfter)} from docker run`);
    ensure(exitedAfter < REFUSAL_WITHIN_MS, `it took ${ms(exitedAfter)} to exit`);
    const lines = await cleanLogs(id);
    ensure(lines.length === 1 && JSON.stringify(lines[0]).includes(missing), `its log is ${JSON.stringify(lines)}`);
    return `exit 1 ${ms(exitedAfter)} after docker run, one JSON line naming ${missing}`;
  });

  await check('nothing written outside /tmp', async () => {
    const diffPort = await findFreePort();
    const id = await run(HARDENED, gatewayEnv(diffPort));
    await waitHealthy(diffPort, performance.now());
    const reply = await get(diffPort, '/v1/apis/http/echo/account', { authorization: `Bearer ${CALLER_TOKEN}` });
    ensure(reply.status === 200, `the proxied request got ${reply.status}`);
    await stop(id);
    const changes = (await engine.dockerOk(['diff', id])).stdout.trim().split('\n').filter(Boolean);
    const outside = changes.filter((line) => !/^[ACD] \/tmp(\/|$)/.test(line));
    ensure(outside.length === 0, `written outside /tmp: ${outside.join(', ')}`);
    return changes.length === 0 ? 'docker diff is empty on a writable root' : `docker diff: ${changes.join(', ')}`;
  });
}

process.exitCode = await main();
