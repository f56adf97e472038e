import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  CALLER_TOKEN,
  GATEWAY_MAIN,
  readImageCommand,
  readRefusal,
  REPO_ROOT,
  spawnGateway,
  stopGateway,
} from '../helpers/gateway';
import { send } from '../helpers/http';
import { within } from '../helpers/process-wait';

/**
 * The gateway process as a container runs it: signals at any moment of its
 * life, start-up refusals as one log line, and nothing written to disk.
 */

const ADAPTERS = JSON.stringify([{ name: 'echo', baseUrl: 'http://127.0.0.1:9' }]);
const { nodeOptions } = readImageCommand();

/** The pid of the one child of `pid` (the process `unshare --fork` runs). */
async function childOf(pid: number): Promise<number> {
  for (;;) {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    if (children !== '') return Number(children.split(' ')[0]);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/**
 * Resolves once process `pid` runs Node: the child of `unshare --fork` is
 * unshare itself until it execs the command.
 */
async function runsNode(pid: number): Promise<void> {
  const node = realpathSync(process.execPath);
  for (;;) {
    try {
      if (readlinkSync(`/proc/${pid}/exe`) === node) return;
    } catch {
      // Not readable for a moment around the exec.
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

describe('a stop signal during start-up, with the gateway as PID 1 as in a container', () => {
  // PID 1 of a PID namespace ignores any signal it has no handler of its own
  // for (Node's default one re-raises it, which PID 1 then ignores): the
  // gateway's handler must be in place long before it listens, or
  // `docker stop` waits out its timeout and kills it. `unshare --pid --fork`
  // makes the gateway PID 1 of a new namespace, as Docker does.
  // The delays count from Node's exec, and leave it time to boot and run the
  // gateway's first line (slower on a loaded machine); on an idle one the
  // gateway listens only after about a second, so they fall during start-up.
  test.each([500, 800, 1_000])('SIGTERM %i ms after Node starts ends the process, exit code 0', async (delayMs) => {
    const command = [process.execPath, ...nodeOptions, GATEWAY_MAIN];
    const unshare = spawn('unshare', ['--pid', '--fork', '--kill-child', '--', ...command], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', PORT: '0', ATLAS_ACCESS_TOKENS: CALLER_TOKEN, ATLAS_ADAPTERS: ADAPTERS },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    unshare.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    unshare.stdout.resume();
    const exited = once(unshare, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      const gateway = await within(childOf(unshare.pid!), 5_000, 'the gateway process');
      await within(runsNode(gateway), 5_000, 'the exec of node');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      process.kill(gateway, 'SIGTERM');
      // A loose bound: a caught signal ends it, an ignored one never does.
      const [code] = await within(exited, 5_000, 'the exit after SIGTERM');
      expect(code).toBe(0);
      expect(stderr).toBe('');
    } finally {
      unshare.kill('SIGKILL');
    }
  });
});

test('not PID 1 (under tini in the image), a SIGTERM before the gateway listens ends it at once by the default action', async () => {
  // tini reports that as exit 143, which the image's ENTRYPOINT maps to 0.
  const gateway = spawn(process.execPath, [...nodeOptions, GATEWAY_MAIN], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', ATLAS_ACCESS_TOKENS: CALLER_TOKEN, ATLAS_ADAPTERS: ADAPTERS },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  gateway.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const exited = once(gateway, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  await new Promise((resolve) => setTimeout(resolve, 20));
  gateway.kill('SIGTERM');
  const [code, signal] = await within(exited, 5_000, 'the exit after SIGTERM');
  expect({ code, signal }).toEqual({ code: null, signal: 'SIGTERM' });
  expect(stdout).not.toContain('Atlas gateway listening');
});

describe('a refused start-up', () => {
  const env = {
    HOST: '0.0.0.0',
    ATLAS_ACCESS_TOKENS: CALLER_TOKEN,
    ATLAS_ADAPTERS: JSON.stringify([
      {
        name: 'heroku',
        baseUrl: 'https://api.heroku.com',
        headers: [{ name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' }],
      },
    ]),
  };

  test('is one JSON line on stdout with the problems as an array, nothing on stderr, exit 1', async () => {
    const gateway = await spawnGateway({ ...env, PORT: 'eighty' });
    try {
      expect(await gateway.exited).toBe(1);
      expect(gateway.stderr()).toBe('');
      const lines = gateway
        .stdout()
        .split('\n')
        .filter((line) => line !== '');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toEqual({
        level: 'fatal',
        time: expect.any(String),
        service: 'atlas-gateway',
        msg: 'cannot start: the gateway environment is not valid; adapters reference secrets that are not available',
        problems: [
          { where: 'PORT', message: expect.stringContaining('"eighty"') },
          {
            where: 'adapter "heroku", header "Authorization"',
            message: expect.stringMatching(
              /^environment variable HEROKU_API_KEY is not set; export HEROKU_API_KEY=<value>/,
            ),
          },
        ],
      });
    } finally {
      await stopGateway(gateway);
    }
  });

  test('says "set but empty" for a variable that is set to the empty string, naming the adapter once', async () => {
    const gateway = await spawnGateway({ ...env, HEROKU_API_KEY: '' });
    try {
      expect(await gateway.exited).toBe(1);
      const { problems, text } = readRefusal(gateway.stdout());
      expect(problems).toEqual([
        {
          where: 'adapter "heroku", header "Authorization"',
          message: expect.stringMatching(/^environment variable HEROKU_API_KEY is set but empty; /),
        },
      ]);
      expect(text.match(/adapter "heroku"/g)).toHaveLength(1);
    } finally {
      await stopGateway(gateway);
    }
  });

  test('on a terminal, also writes the readable text to stderr', async () => {
    // script(1) gives the process a terminal; its output is everything the terminal showed.
    const command = [process.execPath, ...nodeOptions, GATEWAY_MAIN].map((part) => `'${part}'`).join(' ');
    const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', ...env, PORT: 'eighty' },
    }).catch((error: { stdout: string }) => error);
    expect(stdout).toContain('"level":"fatal"');
    expect(stdout).toMatch(/atlas gateway: cannot start: the gateway environment is not valid/);
    expect(stdout).toMatch(/ {2}- PORT: "eighty"/);
  });
});

test('the gateway writes nothing to disk: no compile cache or other file in TMPDIR or HOME', async () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'atlas-writes-'));
  const gateway = await spawnGateway({
    ATLAS_ACCESS_TOKENS: CALLER_TOKEN,
    ATLAS_ADAPTERS: ADAPTERS,
    TMPDIR: scratch,
    HOME: scratch,
  });
  try {
    expect((await send(gateway.url, { path: '/healthz' })).status).toBe(200);
    gateway.process.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
    expect(readdirSync(scratch)).toEqual([]);
  } finally {
    await stopGateway(gateway);
    rmSync(scratch, { recursive: true, force: true });
  }
});
