import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { readImageCommand, REPO_ROOT, spawnGateway, stopGateway } from '../helpers/gateway';
import { send } from '../helpers/http';
import { startOidcIssuer, type OidcIssuer } from '../helpers/oidc-issuer';
import { atlasConfig, httpDocument } from '../helpers/config-files';
import { startEchoUpstream, type Upstream } from '../helpers/upstreams';

/**
 * This checks gateway/Dockerfile's stages and reproduces its runtime stage
 * outside Docker: the bundle (built by `npm test`, as the build stage builds
 * it) copied alone into an empty directory, started with the image's command.
 * It proves the image needs nothing but Node and the bundle. The image itself
 * is built and run by .ci/image/check.mts, which `.ci/run` runs after the tests.
 */
const DOCKERFILE = readFileSync(path.join(REPO_ROOT, 'gateway/Dockerfile'), 'utf8');
const stages = DOCKERFILE.split(/^FROM /m).slice(1);
const [build, runtime] = [stages.at(0)!, stages.at(-1)!];
const rootPackage = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};
const BUNDLE = 'gateway/bundle';

test('every stage builds on the NODE_IMAGE build argument, Node 24 by default', () => {
  expect(stages.length).toBeGreaterThanOrEqual(2);
  const preamble = DOCKERFILE.split(/^FROM /m)[0]!;
  expect(preamble).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim(@sha256:[0-9a-f]{64})?$/m);
  for (const stage of stages) expect(stage).toMatch(/^\$\{NODE_IMAGE\}( AS \w+)?\n/);
});

test('the Dockerfile names no syntax frontend: BuildKit then fetches no image from a registry to parse it', () => {
  expect(DOCKERFILE).not.toMatch(/^#\s*syntax\s*=/im);
});

test('every file the Dockerfile copies from the build context is let through by .dockerignore', () => {
  // .dockerignore excludes everything (`**`) and lets listed paths back in (`!path`, `!dir/**`).
  const ignore = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
  expect(ignore).toContain('**');
  const allowed = ignore.filter((line) => line.startsWith('!')).map((line) => line.slice(1));
  const letThrough = (source: string) =>
    allowed.some((entry) => entry === source || (entry.endsWith('/**') && source.startsWith(entry.slice(0, -2))));
  const sources = [...DOCKERFILE.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap(([, list]) => list!.split(' '));
  expect(sources).toEqual(expect.arrayContaining(['package-lock.json', 'gateway/bundle.mts', 'gateway/src']));
  // Only the gateway's packages: the CLI's manifest completes the workspace, its sources stay out.
  expect(sources.filter((source) => source.startsWith('cli/'))).toEqual(['cli/package.json']);
  expect(sources.filter((source) => !letThrough(source) && !letThrough(`${source}/`))).toEqual([]);
});

test('the build stage installs only the gateway workspace and bundles it as npm run build does', () => {
  expect(build).toMatch(/^RUN npm ci --workspace gateway --include-workspace-root=false --ignore-scripts\b/m);
  expect(build).toMatch(/^RUN node gateway\/bundle\.mts$/m);
  expect(rootPackage.scripts.build).toContain('node gateway/bundle.mts');
  // esbuild is the gateway's own devDependency, so that install has it; the compiler is not needed.
  const gatewayPackage = JSON.parse(readFileSync(path.join(REPO_ROOT, 'gateway/package.json'), 'utf8')) as {
    devDependencies?: Record<string, string>;
  };
  expect(Object.keys(gatewayPackage.devDependencies ?? {})).toEqual(['esbuild']);
  expect(build).not.toMatch(/tsc/);
});

test('the runtime stage is production-only and non-root, listens on all interfaces, installs nothing and runs the bundle', () => {
  expect(runtime).toMatch(/^ENV .*NODE_ENV=production/m);
  expect(runtime).toMatch(/^ENV .*HOST=0\.0\.0\.0/m);
  expect(runtime).toMatch(/^USER node$/m);
  expect([...runtime.matchAll(/^COPY .*$/gm)].map(([line]) => line)).toEqual([
    'COPY --from=build /usr/bin/tini-static /usr/bin/tini',
    `COPY --from=build /app/${BUNDLE} ${BUNDLE}`,
  ]);
  expect(runtime).not.toMatch(/^RUN /m);
  expect(readImageCommand().main).toBe(`${BUNDLE}/main.js`);
});

test('tini is PID 1, from Debian in the build stage, and a SIGTERM that ends Node before its handlers exist exits 0', () => {
  // The static build: the runtime stage has nothing else to install for it.
  expect(build).toMatch(/^RUN apt-get update && apt-get install -y --no-install-recommends tini\b/m);
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(runtime);
  expect(JSON.parse(entrypoint![1]!)).toEqual(['/usr/bin/tini', '-s', '-e', '143', '--']);
  // The CMD stays what tests and the benchmark read (readImageCommand).
  expect(runtime.indexOf('ENTRYPOINT')).toBeLessThan(runtime.indexOf('CMD'));
});

test('the image runs node with --expose-gc, which paces the memory of large bodies, and both npm start scripts run it alike', () => {
  const { nodeOptions, main } = readImageCommand();
  expect(nodeOptions).toContain('--expose-gc');
  for (const option of nodeOptions) expect(option).toMatch(/^--[a-z-]+(=\w+)?$/);
  expect(rootPackage.scripts.start).toContain(`node ${nodeOptions.join(' ')} ${main}`);
  // The gateway workspace's own script runs from gateway/.
  const gatewayPackage = JSON.parse(readFileSync(path.join(REPO_ROOT, 'gateway/package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  expect(gatewayPackage.scripts.start).toBe(`node ${nodeOptions.join(' ')} ${path.relative('gateway', main)}`);
});

test('the bundle requires nothing but Node built-ins, its own ./serve and the optional pino-pretty', () => {
  const required = new Set<string>();
  for (const file of ['main.js', 'serve.js']) {
    const code = readFileSync(path.join(REPO_ROOT, BUNDLE, file), 'utf8');
    for (const [, name] of code.matchAll(/\brequire\("([^"]+)"\)/g)) required.add(name!);
  }
  // pino-pretty, a development dependency, is required only on a terminal and only where it is installed.
  const foreign = [...required].filter((name) => !isBuiltin(name) && name !== './serve' && name !== 'pino-pretty');
  expect(foreign).toEqual([]);
  // The scan does see the gateway's requires.
  expect([...required]).toEqual(expect.arrayContaining(['./serve', 'node:http']));
});

describe('the runtime stage reproduced outside Docker: the bundle alone in an empty directory', () => {
  let dir: string;
  let upstream: Upstream;
  let issuer: OidcIssuer;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-image-'));
    cpSync(path.join(REPO_ROOT, BUNDLE), path.join(dir, BUNDLE), { recursive: true });
    upstream = await startEchoUpstream();
    issuer = await startOidcIssuer();
  });

  afterAll(async () => {
    await upstream?.close();
    await issuer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('reads an Atlas config file, verifies an OIDC token and proxies with the adapter headers', async () => {
    // yaml (config files) and jose (OIDC) load lazily: this proves they are in the bundle.
    const config = path.join(dir, 'atlas.yaml');
    writeFileSync(
      config,
      atlasConfig(
        [{ name: 'echo' }],
        httpDocument(
          'echo',
          [
            `  baseUrl: ${upstream.url}`,
            '  headers:',
            '    - name: Authorization',
            '      value: Bearer ${{ ECHO_KEY }}',
          ].join('\n'),
        ),
      ),
    );
    const gateway = await spawnGateway(
      {
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        ATLAS_CONFIG: config,
        ECHO_KEY: 'echo-key-0123456789',
        ATLAS_OIDC_ISSUER: issuer.issuer,
        ATLAS_OIDC_AUDIENCE: issuer.audience,
        ATLAS_OIDC_JWKS_URL: issuer.jwksUrl,
      },
      dir,
      path.join(dir, readImageCommand().main),
    );
    try {
      expect(gateway.url).not.toBe('');
      expect((await send(gateway.url, { path: '/healthz' })).status).toBe(200);

      const token = await issuer.sign(issuer.claims('image-test'));
      const res = await send(gateway.url, {
        path: '/v1/apis/http/echo/account',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({
        method: 'GET',
        url: '/account',
        headers: { authorization: 'Bearer echo-key-0123456789' },
      });
    } finally {
      await stopGateway(gateway);
    }
  });
});
