/**
 * A private Docker engine for the image check: its own data root, exec root,
 * socket and config file, all in one temporary directory, so it shares
 * nothing with an engine the machine may run. It creates no bridge and
 * touches no iptables rule (containers use the host's network), so the
 * machine's networking is left as it was. It is stopped by its own PID and
 * its directory removed, mounts left behind included.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall-clock time of the command, in milliseconds. */
  readonly ms: number;
}

export interface Engine {
  /** The engine's directory (data root, exec root, socket, daemon log). */
  readonly dir: string;
  /** The daemon's PID. */
  readonly pid: number;
  /** The environment that points a Docker client at this engine. */
  readonly env: NodeJS.ProcessEnv;
  /** Runs the Docker client against this engine; never throws for a non-zero exit. */
  docker(args: readonly string[], options?: { readonly cwd?: string; readonly timeoutMs?: number }): Promise<Result>;
  /** Like `docker`, but throws with the client's stderr when it fails. */
  dockerOk(args: readonly string[], options?: { readonly cwd?: string; readonly timeoutMs?: number }): Promise<Result>;
  stop(): Promise<void>;
}

/** Thrown when the engine cannot run on this machine: the check fails with this message. */
export class EngineUnavailable extends Error {}

/** The client shipped beside the daemon (Debian's docker.io), else the first `docker` on PATH. */
export const CLIENT = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

export async function startEngine(): Promise<Engine> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-engine-'));
  const socket = path.join(dir, 'docker.sock');
  const configFile = path.join(dir, 'daemon.json');
  // An empty config file: the machine's /etc/docker/daemon.json, if any, does not apply.
  writeFileSync(configFile, '{}\n');
  const logFile = path.join(dir, 'dockerd.log');
  const log = openSync(logFile, 'a');
  const daemon: ChildProcess = spawn(
    'dockerd',
    [
      `--config-file=${configFile}`,
      `--data-root=${path.join(dir, 'data')}`,
      `--exec-root=${path.join(dir, 'exec')}`,
      `--pidfile=${path.join(dir, 'dockerd.pid')}`,
      `--host=unix://${socket}`,
      '--bridge=none',
      '--iptables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      '--userland-proxy=false',
      '--log-level=warn',
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  const exited = new Promise<string>((resolve) => {
    daemon.once('error', (error) => resolve(error.message));
    daemon.once('exit', (code, signal) => resolve(`dockerd exited with ${signal ?? `code ${code}`}`));
  });
  let running = true;
  void exited.then(() => (running = false));

  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: dir };
  const docker: Engine['docker'] = (args, options = {}) =>
    new Promise((resolve) => {
      const started = performance.now();
      execFile(
        CLIENT,
        args,
        { env, cwd: options.cwd, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
          resolve({ code, stdout, stderr, ms: performance.now() - started });
        },
      );
    });
  const dockerOk: Engine['dockerOk'] = async (args, options) => {
    const result = await docker(args, options);
    if (result.code !== 0) {
      throw new Error(
        `docker ${args.join(' ')} failed (${result.code}): ${result.stderr.trim() || result.stdout.trim()}`,
      );
    }
    return result;
  };

  const stop = async (): Promise<void> => {
    if (running && daemon.pid !== undefined) {
      process.kill(daemon.pid, 'SIGTERM');
      if ((await Promise.race([exited.then(() => true), sleep(20_000, false)])) === false) {
        process.kill(daemon.pid, 'SIGKILL');
        await exited;
      }
    }
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = performance.now() + 60_000;
  for (;;) {
    const version = await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 });
    if (version.code === 0) {
      return { dir, pid: daemon.pid!, env, docker, dockerOk, stop };
    }
    if (!running || performance.now() > deadline) {
      const why = running ? 'it did not answer within 60 s' : await exited;
      const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n');
      await stop();
      throw new EngineUnavailable(`the Docker engine cannot run on this machine: ${why}. Its log ends:\n${tail}`);
    }
    await sleep(200);
  }
}

/** Unmounts, deepest first, whatever a killed daemon left mounted under `dir`. */
function unmountUnder(dir: string): void {
  const mountPoints = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(`${dir}/`));
  for (const point of mountPoints.sort((a, b) => b.length - a.length)) {
    execFileSync('umount', ['--lazy', point], { stdio: 'ignore' });
  }
}
