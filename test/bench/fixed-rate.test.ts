import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FixedRateRun } from '../../bench/fixed-rate.mts';

const FIXED_RATE = pathToFileURL(path.resolve(__dirname, '../../bench/fixed-rate.mts')).href;

/**
 * One short fixed-rate run against a local server, in a child Node (the
 * bench's modules are ES modules run with Node's type stripping, which
 * jest's CommonJS registry does not load).
 */
function fixedRateRun(rate: number, durationS: number): FixedRateRun {
  const script = `
    import http from 'node:http';
    import { runFixedRate } from ${JSON.stringify(FIXED_RATE)};
    const server = http.createServer((req, res) => res.end('ok'));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const run = await runFixedRate('http://127.0.0.1:' + server.address().port + '/', {}, ${rate}, ${durationS});
    server.close();
    process.stdout.write(JSON.stringify(run));
    process.exit(0);
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`the fixed-rate run failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as FixedRateRun;
}

test('a fixed-rate run records its latency distribution, consistent with its own percentiles', () => {
  const run = fixedRateRun(200, 1);
  expect(run.sent).toBe(200);
  expect(run.errors).toBe(0);
  expect(run.distribution.map((point) => point.percentile)).toEqual([50, 75, 90, 95, 99, 99.9, 100]);
  const ms = run.distribution.map((point) => point.ms);
  expect(ms.every((value) => value > 0)).toBe(true);
  expect([...ms].sort((a, b) => a - b)).toEqual(ms);
  const at = (percentile: number) => run.distribution.find((point) => point.percentile === percentile)!.ms;
  expect([at(50), at(90), at(99), at(100)]).toEqual([run.p50Ms, run.p90Ms, run.p99Ms, run.maxMs]);
}, 30_000);
