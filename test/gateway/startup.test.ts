import http from 'node:http';
import path from 'node:path';
import {
  CALLER_AUTH,
  CALLER_TOKEN,
  type GatewayProcess,
  readRefusal,
  REPO_ROOT,
  spawnGateway,
  stopGateway,
} from '../helpers/gateway';
import { close, listen, send } from '../helpers/http';
import { type Upstream, startEchoUpstream } from '../helpers/upstreams';
import { atlasConfig, httpDocument, makeTempDir, type TempDir } from '../helpers/config-files';

// Runs against gateway/dist: build it first (`npx tsc -b gateway`, part of `npm test`).

const AUTH = { ATLAS_ACCESS_TOKENS: CALLER_TOKEN };
const LOOPBACK = { HOST: '127.0.0.1', ...AUTH };

interface Refusal {
  readonly code: number | null;
  readonly stdout: string;
  /** The refusal's readable text, from its JSON line (see readRefusal). */
  readonly text: string;
}

/**
 * Starts the gateway with `env` and expects it to exit without ever
 * listening, having written one JSON line and nothing on stderr (not a terminal).
 */
async function startRefused(env: Record<string, string>, cwd?: string): Promise<Refusal> {
  const gateway = await spawnGateway(env, cwd);
  try {
    expect(gateway.url).toBe('');
    const code = await gateway.exited;
    expect(gateway.stderr()).toBe('');
    return { code, stdout: gateway.stdout(), text: readRefusal(gateway.stdout()).text };
  } finally {
    await stopGateway(gateway);
  }
}

async function waitForOutput(gateway: GatewayProcess, done: (stdout: string) => boolean): Promise<void> {
  while (!done(gateway.stdout())) {
    if (gateway.process.exitCode !== null) throw new Error(`the gateway exited:\n${gateway.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function linesMentioning(text: string, word: string): string[] {
  return text.split('\n').filter((line) => line.includes(word));
}

const HEROKU_ADAPTER = {
  name: 'heroku',
  baseUrl: 'https://api.heroku.com',
  headers: [
    { name: 'Authorization', value: 'Bearer ${{ MISSING_KEY }}' },
    { name: 'Accept', value: 'application/vnd.heroku+json; version=3' },
  ],
};

describe('a secret referenced by an adapter is not set', () => {
  test('on HOST=0.0.0.0 start-up fails naming the adapter, header and variable, and how to set it', async () => {
    const refusal = await startRefused({ ...AUTH, HOST: '0.0.0.0', ATLAS_ADAPTERS: JSON.stringify([HEROKU_ADAPTER]) });

    expect(refusal.code).toBeGreaterThan(0);
    expect(refusal.text).toContain('adapter "heroku"');
    expect(refusal.text).toContain('header "Authorization"');
    expect(refusal.text).toContain('MISSING_KEY');
    expect(refusal.text).toContain('export MISSING_KEY=');
    expect(refusal.text).toContain('pulumi config set --secret MISSING_KEY');
  });

  test('on 127.0.0.1 the gateway starts, warns once, and answers only that adapter with 503', async () => {
    const echo = await startEchoUpstream();
    const unreachable = await startEchoUpstream();
    const gateway = await spawnGateway({
      ...LOOPBACK,
      ATLAS_ADAPTERS: JSON.stringify([
        { ...HEROKU_ADAPTER, baseUrl: unreachable.url },
        { name: 'echo', baseUrl: echo.url },
      ]),
    });
    try {
      expect(gateway.url).not.toBe('');

      const refused = await send(gateway.url, { path: '/v1/apis/http/heroku/account', headers: CALLER_AUTH });
      const served = await send(gateway.url, { path: '/v1/apis/http/echo/account', headers: CALLER_AUTH });

      expect(refused.status).toBe(503);
      expect(refused.json()).toMatchObject({ id: 'adapter_unavailable' });
      expect(unreachable.seen).toEqual([]);
      expect(served.status).toBe(200);
      expect(echo.seen.map((seen) => seen.url)).toEqual(['/account']);

      await waitForOutput(gateway, (stdout) => linesMentioning(stdout, '"msg":"request"').length === 2);
      const warnings = linesMentioning(gateway.stdout(), 'MISSING_KEY');
      expect(warnings).toHaveLength(1);
      const warning = JSON.parse(warnings[0]!) as { level: string; msg: string };
      expect(warning.level).toBe('warn');
      expect(warning.msg).toContain('adapter "heroku", header "Authorization": environment variable MISSING_KEY');
      expect(warning.msg).toContain('export MISSING_KEY=');
    } finally {
      await stopGateway(gateway);
      await echo.close();
      await unreachable.close();
    }
  });

  test('a secret containing a line break stops start-up on HOST=0.0.0.0 without revealing the secret', async () => {
    const secret = 'hk-Sup3rSecretValue-0123456789';
    const refusal = await startRefused({
      ...AUTH,
      HOST: '0.0.0.0',
      ATLAS_ADAPTERS: JSON.stringify([HEROKU_ADAPTER]),
      MISSING_KEY: `${secret}\n`,
    });

    expect(refusal.code).toBeGreaterThan(0);
    expect(refusal.text).toContain('MISSING_KEY');
    expect(refusal.text).toMatch(/line break/);
    expect(refusal.text).not.toContain(secret);
    expect(refusal.stdout).not.toContain(secret);
  });
});

describe('caller authentication at start-up', () => {
  test('with no caller authentication configured the gateway refuses to start and says how to fix it', async () => {
    const refusal = await startRefused({ HOST: '127.0.0.1', ATLAS_ADAPTERS: '[]' });

    expect(refusal.code).toBeGreaterThan(0);
    expect(refusal.text).toMatch(/^cannot start: /);
    expect(refusal.text).toContain('ATLAS_ACCESS_TOKENS');
    expect(refusal.text).toContain('ATLAS_AUTH=none');
  });

  test('ATLAS_AUTH=none on HOST=0.0.0.0 is refused', async () => {
    const refusal = await startRefused({ HOST: '0.0.0.0', ATLAS_AUTH: 'none', ATLAS_ADAPTERS: '[]' });

    expect(refusal.code).toBeGreaterThan(0);
    expect(refusal.text).toContain('ATLAS_AUTH');
    expect(refusal.text).toContain('HOST=0.0.0.0');
  });
});

test('ATLAS_AUTH=none is ignored when tokens are configured: HOST=0.0.0.0 with tokens starts, as `npm start` runs it', async () => {
  const echo = await startEchoUpstream();
  const gateway = await spawnGateway({
    ...AUTH,
    ATLAS_AUTH: 'none',
    HOST: '0.0.0.0',
    ATLAS_ADAPTERS: JSON.stringify([{ name: 'echo', baseUrl: echo.url }]),
  });
  try {
    expect(gateway.stderr()).toBe('');
    expect(gateway.url).not.toBe('');
    const local = `http://127.0.0.1:${new URL(gateway.url).port}`;
    expect((await send(local, { path: '/v1/apis/http/echo/x' })).status).toBe(401);
    expect((await send(local, { path: '/v1/apis/http/echo/x', headers: CALLER_AUTH })).status).toBe(200);
    expect(gateway.stdout()).not.toContain('AUTHENTICATION IS OFF');
  } finally {
    await stopGateway(gateway);
    await echo.close();
  }
});

test('a refused start-up lists every problem at once: environment, caller authentication and missing secrets', async () => {
  const refusal = await startRefused({
    HOST: '0.0.0.0',
    PORT: 'eighty',
    ATLAS_AUTH: 'none',
    ATLAS_ADAPTERS: JSON.stringify([HEROKU_ADAPTER]),
  });

  expect(refusal.code).toBeGreaterThan(0);
  expect(refusal.text).toMatch(/- PORT: "eighty" is not a whole number/);
  expect(refusal.text).toMatch(/- ATLAS_AUTH: "none" is refused because HOST=0\.0\.0\.0 is not a loopback address/);
  expect(refusal.text).toMatch(
    /- adapter "heroku", header "Authorization": environment variable MISSING_KEY is not set; export MISSING_KEY=<value>/,
  );
});

test.each([
  ['bad JSON', '[{"name":"heroku",', ['ATLAS_ADAPTERS is not valid JSON']],
  [
    'a duplicate name, a bad URL and a bad adapter name',
    JSON.stringify([
      { name: 'heroku', baseUrl: 'https://api.heroku.com' },
      { name: 'heroku', baseUrl: 'https://api.heroku.com/v2' },
      { name: 'github', baseUrl: 'api.github.com' },
      { name: 'Data_Dog', baseUrl: 'https://api.datadoghq.com/api' },
    ]),
    [
      'ATLAS_ADAPTERS[1].name: duplicate adapter name "heroku"',
      'ATLAS_ADAPTERS[2].baseUrl: "api.github.com" is not an absolute URL',
      'ATLAS_ADAPTERS[3].name: "Data_Dog" is not a valid adapter name',
    ],
  ],
])('invalid ATLAS_ADAPTERS (%s) stops start-up listing every problem', async (_case, adapters, expected) => {
  const refusal = await startRefused({ ...LOOPBACK, ATLAS_ADAPTERS: adapters });

  expect(refusal.code).toBeGreaterThan(0);
  for (const text of expected) expect(refusal.text).toContain(text);
});

test("without ATLAS_ADAPTERS or ATLAS_CONFIG the gateway serves the dev stack's heroku adapter from Pulumi.dev.yaml", async () => {
  const gateway = await spawnGateway(LOOPBACK, REPO_ROOT);
  try {
    expect(gateway.url).not.toBe('');

    const apis = await send(gateway.url, { path: '/v1/apis', headers: CALLER_AUTH });
    expect(apis.status).toBe(200);
    expect(apis.json()).toEqual([{ kind: 'HTTP', name: 'heroku', baseUrl: 'https://api.heroku.com' }]);
    expect(gateway.stdout()).toContain('Pulumi.dev.yaml');

    // HEROKU_API_KEY is not in the process's environment: nothing may leave this machine.
    const account = await send(gateway.url, { path: '/v1/apis/http/heroku/account', headers: CALLER_AUTH });
    expect(account.status).toBe(503);
    expect(account.json()).toMatchObject({ id: 'adapter_unavailable' });
    expect(linesMentioning(gateway.stdout(), 'HEROKU_API_KEY')).toHaveLength(1);
  } finally {
    await stopGateway(gateway);
  }
});

describe('ATLAS_CONFIG', () => {
  let dir: TempDir;
  let echo: Upstream;
  beforeEach(async () => {
    dir = makeTempDir();
    echo = await startEchoUpstream();
  });
  afterEach(async () => {
    await echo.close();
    dir.remove();
  });

  function writeConfig(): string {
    return dir.write(
      'atlas.yaml',
      atlasConfig(
        [{ name: 'echo' }, { name: 'github' }],
        httpDocument(
          'echo',
          `  baseUrl: ${echo.url}/api\n  headers:\n  - name: X-Api-Key\n    value: \${{ ECHO_API_KEY }}`,
        ),
        httpDocument(
          'github',
          '  baseUrl: https://api.github.com\n  headers:\n  - name: Authorization\n    value: token ${{ GITHUB_TOKEN }}',
        ),
      ),
    );
  }

  test.each([
    ['an absolute path', (file: string) => file],
    ['a path relative to the working directory', (file: string) => path.basename(file)],
  ])('given %s to an Atlas config, the gateway serves its adapters', async (_case, pathOf) => {
    const file = writeConfig();
    const gateway = await spawnGateway(
      { ...LOOPBACK, ATLAS_CONFIG: pathOf(file), ECHO_API_KEY: 'echo-key-value', GITHUB_TOKEN: 'gh-token-value' },
      dir.path,
    );
    try {
      expect(gateway.url).not.toBe('');

      const apis = await send(gateway.url, { path: '/v1/apis', headers: CALLER_AUTH });
      expect(apis.json()).toEqual([
        { kind: 'HTTP', name: 'echo', baseUrl: `${echo.url}/api` },
        { kind: 'HTTP', name: 'github', baseUrl: 'https://api.github.com' },
      ]);

      const res = await send(gateway.url, { path: '/v1/apis/http/echo/v2/users?page=2', headers: CALLER_AUTH });
      expect(res.status).toBe(200);
      expect(echo.seen).toHaveLength(1);
      expect(echo.seen[0]!.url).toBe('/api/v2/users?page=2');
      expect(echo.seen[0]!.headers['x-api-key']).toBe('echo-key-value');
    } finally {
      await stopGateway(gateway);
    }
  });

  test('pointing at a missing file stops start-up naming the path', async () => {
    const missing = path.join(dir.path, 'no-such-atlas.yaml');

    const refusal = await startRefused({ ...LOOPBACK, ATLAS_CONFIG: missing });

    expect(refusal.code).toBeGreaterThan(0);
    expect(refusal.text).toContain(missing);
  });
});

test('a PORT already in use stops start-up with a message saying so', async () => {
  const occupant = http.createServer();
  const url = await listen(occupant);
  try {
    const refusal = await startRefused({ ...LOOPBACK, ATLAS_ADAPTERS: '[]', PORT: new URL(url).port });

    expect(refusal.code).toBeGreaterThan(0);
    expect(refusal.text).toMatch(/already in use/);
    expect(refusal.text).toContain('PORT');
  } finally {
    await close(occupant);
  }
});
