import http from 'node:http';
import { close, listen } from '../helpers/http';
import { CALLER_TOKEN, type InProcessGateway, startGateway } from '../helpers/gateway';
import { runAtlas } from '../helpers/cli-run';

let gateway: InProcessGateway;

beforeAll(async () => {
  // Upstreams are never called by the list, so their addresses need not listen.
  gateway = await startGateway({
    adapters: [
      {
        name: 'heroku',
        baseUrl: 'http://127.0.0.1:9/heroku',
        headers: [{ name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' }],
      },
      { name: 'datadog-eu', baseUrl: 'http://127.0.0.1:9/api' },
      { name: 'gh', baseUrl: 'http://127.0.0.1:9' },
    ],
    env: { HEROKU_API_KEY: 'heroku-secret-value' },
  });
});

afterAll(async () => {
  await gateway?.close();
});

test.concurrent('prints a KIND/NAME/BASE URL table with one aligned row per adapter', async () => {
  const result = await runAtlas(['apis', 'list', '--url', gateway.url, '--token', CALLER_TOKEN]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const lines = result.out.split('\n');
  expect(lines.at(-1)).toBe('');
  const rows = lines.slice(0, -1);
  expect(rows.map((row) => row.split(/\s{2,}/))).toEqual([
    ['KIND', 'NAME', 'BASE URL'],
    ['HTTP', 'heroku', 'http://127.0.0.1:9/heroku'],
    ['HTTP', 'datadog-eu', 'http://127.0.0.1:9/api'],
    ['HTTP', 'gh', 'http://127.0.0.1:9'],
  ]);
  // Columns line up: every row's NAME and BASE URL start where the header's do.
  const nameColumn = rows[0]!.indexOf('NAME');
  const urlColumn = rows[0]!.indexOf('BASE URL');
  for (const row of rows.slice(1)) {
    expect(row.slice(nameColumn - 2, nameColumn)).toBe('  ');
    expect(row[nameColumn]).not.toBe(' ');
    expect(row.slice(urlColumn)).toMatch(/^http:\/\//);
  }
  expect(result.out).not.toContain('heroku-secret-value');
});

test.concurrent('--json prints the gateway JSON, parsed equal to GET /v1/apis', async () => {
  const result = await runAtlas(['apis', 'list', '--json'], {
    env: { ATLAS_URL: gateway.url, ATLAS_TOKEN: CALLER_TOKEN },
  });
  expect(result.code).toBe(0);
  const direct = await fetch(`${gateway.url}/v1/apis`, { headers: { authorization: `Bearer ${CALLER_TOKEN}` } });
  expect(result.out).toBe(`${await direct.text()}\n`);
  expect(JSON.parse(result.out)).toEqual([
    { kind: 'HTTP', name: 'heroku', baseUrl: 'http://127.0.0.1:9/heroku' },
    { kind: 'HTTP', name: 'datadog-eu', baseUrl: 'http://127.0.0.1:9/api' },
    { kind: 'HTTP', name: 'gh', baseUrl: 'http://127.0.0.1:9' },
  ]);
});

test.concurrent(
  'a wrong token exits non-zero with the gateway 401 message on stderr and nothing on stdout',
  async () => {
    const result = await runAtlas(['apis', 'list', '--url', gateway.url, '--token', 'wrong-token']);
    expect(result.code).not.toBe(0);
    expect(result.out).toBe('');
    const direct = await fetch(`${gateway.url}/v1/apis`, { headers: { authorization: 'Bearer wrong-token' } });
    expect(direct.status).toBe(401);
    const { message } = (await direct.json()) as { message: string };
    expect(message.length).toBeGreaterThan(0);
    expect(result.stderr).toContain('401');
    expect(result.stderr).toContain(message);
  },
);

test.concurrent('without a URL or token (and no pulumi on PATH) it exits 1 naming what is missing', async () => {
  const result = await runAtlas(['apis', 'list']);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('ATLAS_URL');
  expect(result.stderr).toContain('ATLAS_TOKEN');
});

test.concurrent('an unreachable gateway exits 7, as curl does, with a message naming it and the reason', async () => {
  const closed = http.createServer();
  const closedUrl = await listen(closed);
  await close(closed);
  const result = await runAtlas(['apis', 'list', '--url', closedUrl, '--token', CALLER_TOKEN]);
  expect(result.code).toBe(7);
  expect(result.stderr).toContain(closedUrl);
  expect(result.stderr).toContain('ECONNREFUSED');
});
