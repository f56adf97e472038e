import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readImageCommand, REPO_ROOT, spawnGateway, stopGateway } from '../helpers/gateway';
import { send } from '../helpers/http';

/**
 * There is no Docker engine here, so this reproduces the runtime stage of
 * gateway/Dockerfile outside Docker: the same files copied, the same
 * `npm ci` (from the npm cache, offline), the same command started. It proves
 * the image has every module the gateway needs and none of the root's
 * tooling.
 */
const DOCKERFILE = readFileSync(path.join(REPO_ROOT, 'gateway/Dockerfile'), 'utf8');
const stages = DOCKERFILE.split(/^FROM /m).slice(1);
const runtime = stages.at(-1)!;
const rootPackage = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const gatewayPackage = JSON.parse(readFileSync(path.join(REPO_ROOT, 'gateway/package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};

test('every stage builds on Node 24', () => {
  expect(stages.length).toBeGreaterThanOrEqual(2);
  for (const stage of stages) expect(stage).toMatch(/^node:24[-.\w]*/);
});

test('the runtime stage is production-only, non-root, listens on all interfaces and runs the compiled gateway', () => {
  expect(runtime).toMatch(/^ENV .*NODE_ENV=production/m);
  expect(runtime).toMatch(/^ENV .*HOST=0\.0\.0\.0/m);
  expect(runtime).toMatch(/^USER node$/m);
  expect(readImageCommand().main).toBe('gateway/dist/main.js');
  expect(runtime).toMatch(/npm ci --workspace gateway --omit=dev/);
});

test('the image runs node with --expose-gc, which paces the memory of large bodies, and npm start runs it alike', () => {
  const { nodeOptions } = readImageCommand();
  expect(nodeOptions).toContain('--expose-gc');
  for (const option of nodeOptions) expect(option).toMatch(/^--[a-z-]+(=\w+)?$/);
  expect(rootPackage.scripts.start).toContain(`node ${nodeOptions.join(' ')} gateway/dist/main.js`);
});

describe('the runtime stage reproduced outside Docker', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-image-'));
    // COPY lines of the runtime stage (the build stage's output is gateway/dist, built by `npm test`).
    for (const line of runtime.matchAll(/^COPY (?!--from)(.+) (\S+)$/gm)) {
      const sources = line[1]!.split(' ');
      const target = path.join(dir, line[2]!);
      mkdirSync(target, { recursive: true });
      for (const source of sources) cpSync(path.join(REPO_ROOT, source), path.join(target, path.basename(source)));
    }
    cpSync(path.join(REPO_ROOT, 'gateway/dist'), path.join(dir, 'gateway/dist'), { recursive: true });
    const install = /^RUN (npm ci [^&\n]+)/m.exec(runtime)![1]!.trim().split(/\s+/);
    execFileSync(install[0]!, [...install.slice(1), '--offline'], { cwd: dir, stdio: 'pipe' });
  }, 120_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('installs every runtime dependency of the gateway', () => {
    for (const name of Object.keys(gatewayPackage.dependencies)) {
      expect(existsSync(path.join(dir, 'node_modules', name, 'package.json'))).toBe(true);
    }
  });

  test("installs none of the root's packages: no Pulumi, compiler, test or lint tooling", () => {
    const rootOnly = [...Object.keys(rootPackage.dependencies), ...Object.keys(rootPackage.devDependencies)].filter(
      (name) => !(name in gatewayPackage.dependencies),
    );
    expect(rootOnly).toEqual(expect.arrayContaining(['@pulumi/pulumi', 'typescript', 'jest']));
    for (const name of rootOnly) expect(existsSync(path.join(dir, 'node_modules', name))).toBe(false);
  });

  test('starts from the copied files alone and answers GET /healthz with 200', async () => {
    const gateway = await spawnGateway(
      {
        NODE_ENV: 'production',
        ATLAS_ADAPTERS: '[]',
        ATLAS_ACCESS_TOKENS: 'image-test-token-0123456789abcdef0123',
        HOST: '127.0.0.1',
      },
      dir,
      path.join(dir, 'gateway/dist/main.js'),
    );
    try {
      expect(gateway.url).not.toBe('');
      const res = await send(gateway.url, { path: '/healthz' });
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ status: 'ok' });
    } finally {
      await stopGateway(gateway);
    }
  });
});
