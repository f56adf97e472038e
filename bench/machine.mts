import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadGeneratorChoice } from './options.mts';

export interface Machine {
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly kernel: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGB: number;
  readonly loadAverage1m: number;
}

export interface Tools {
  readonly nginx: { readonly path: string; readonly version: string; readonly configureArguments: string };
  readonly loadGenerator:
    | { readonly kind: 'wrk'; readonly path: string; readonly version: string }
    | { readonly kind: 'autocannon'; readonly version: string };
  readonly packages: Readonly<Record<string, string>>;
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    cpus: os.availableParallelism(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGB: Math.round(os.totalmem() / 1e8) / 10,
    loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

const SBIN = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/local/nginx/sbin'];

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...SBIN];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function run(command: string, args: readonly string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/**
 * Finds nginx and the load generator. As root on a Debian-like system the
 * missing Debian packages are installed with apt-get; otherwise the
 * message says which ones to install. Without wrk, autocannon (a dev
 * dependency) generates the load, which costs more CPU on the same machine.
 */
export function findTools(choice: LoadGeneratorChoice, mayInstall: boolean, log: (line: string) => void): Tools {
  let nginx = process.env.BENCH_NGINX ?? findExecutable('nginx');
  let wrk = choice === 'autocannon' ? undefined : (process.env.BENCH_WRK ?? findExecutable('wrk'));

  const missing = [...(nginx ? [] : ['nginx']), ...(wrk || choice === 'autocannon' ? [] : ['wrk'])];
  if (missing.length > 0) {
    const apt = findExecutable('apt-get');
    if (mayInstall && apt && process.getuid?.() === 0) {
      log(`installing the Debian package(s) ${missing.join(' ')} with apt-get`);
      const install = () =>
        run(apt, ['install', '-y', '--no-install-recommends', ...missing]).status === 0 ||
        // A fresh machine may have no package lists yet.
        (run(apt, ['update']).status === 0 &&
          run(apt, ['install', '-y', '--no-install-recommends', ...missing]).status === 0);
      if (!install()) log(`apt-get install ${missing.join(' ')} failed`);
      nginx ??= findExecutable('nginx');
      wrk ??= choice === 'autocannon' ? undefined : findExecutable('wrk');
    }
  }
  if (!nginx) {
    throw new Error(
      'nginx is not installed: install the Debian package "nginx" (sudo apt-get install nginx), ' +
        'or point BENCH_NGINX at an nginx binary',
    );
  }
  if (!wrk && choice === 'wrk') {
    throw new Error('wrk is not installed: install the Debian package "wrk" (sudo apt-get install wrk)');
  }

  const nginxVersion = run(nginx, ['-V']).output;
  const packages = readPackageVersions(['express', 'http-proxy-middleware', 'undici', 'autocannon']);
  return {
    nginx: {
      path: nginx,
      version: /nginx version: (\S+)/.exec(nginxVersion)?.[1] ?? 'unknown',
      configureArguments: /configure arguments: (.*)/.exec(nginxVersion)?.[1] ?? '',
    },
    loadGenerator: wrk
      ? { kind: 'wrk', path: wrk, version: /wrk (\S+)/.exec(run(wrk, ['-v']).output)?.[1] ?? 'unknown' }
      : { kind: 'autocannon', version: packages.autocannon ?? 'unknown' },
    packages,
  };
}

function readPackageVersions(names: readonly string[]): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const name of names) {
    try {
      // Packages with an "exports" map hide package.json; read it from the resolved directory instead.
      const entry = fileURLToPath(import.meta.resolve(name));
      const root = entry.slice(0, entry.lastIndexOf(`node_modules${path.sep}${name}`)) + `node_modules/${name}`;
      versions[name] = (
        JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }
      ).version;
    } catch {
      // not installed
    }
  }
  return versions;
}
