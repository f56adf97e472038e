import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import type { Tools } from './machine.mts';

export interface LoadRun {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx answers plus socket errors and timeouts. */
  readonly errors: number;
  readonly non2xx: number;
  readonly socketErrors: number;
}

/** A closed-loop load generator: a fixed number of keep-alive connections, each sending as fast as it is answered. */
export interface LoadGenerator {
  readonly name: string;
  run(url: string, headers: Readonly<Record<string, string>>, connections: number, durationS: number): Promise<LoadRun>;
}

// wrk's own summary rounds and mixes units; this prints exact figures, one JSON line.
const WRK_REPORT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%.0f,"durationUs":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,' ..
    '"status":%.0f,"timeout":%.0f,"p50Us":%.0f,"p99Us":%.0f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

export function createLoadGenerator(tools: Tools, workDir: string): LoadGenerator {
  const generator = tools.loadGenerator;
  if (generator.kind === 'autocannon') return { name: `autocannon ${generator.version}`, run: runAutocannon };
  const script = path.join(workDir, 'report.lua');
  writeFileSync(script, WRK_REPORT);
  return {
    name: `wrk ${generator.version}`,
    run: (url, headers, connections, durationS) => runWrk(generator.path, script, url, headers, connections, durationS),
  };
}

const execFileAsync = promisify(execFile);

async function runWrk(
  wrk: string,
  script: string,
  url: string,
  headers: Readonly<Record<string, string>>,
  connections: number,
  durationS: number,
): Promise<LoadRun> {
  // One thread: wrk then needs at most one core of the two or so a small
  // machine has, leaving the rest to the proxy and the upstream.
  const args = ['-t1', `-c${connections}`, `-d${durationS}s`, '--timeout', '10s', '-s', script];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  args.push(url);
  const { stdout } = await execFileAsync(wrk, args, { timeout: (durationS + 30) * 1000 });
  const line = stdout.split('\n').find((item) => item.startsWith('BENCH_RESULT '));
  if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
  const raw = JSON.parse(line.slice('BENCH_RESULT '.length)) as Record<string, number>;
  const seconds = raw.durationUs! / 1e6;
  const socketErrors = raw.connect! + raw.read! + raw.write! + raw.timeout!;
  return {
    requests: raw.requests!,
    seconds,
    rps: raw.requests! / seconds,
    p50Ms: raw.p50Us! / 1000,
    p99Ms: raw.p99Us! / 1000,
    errors: raw.status! + socketErrors,
    non2xx: raw.status!,
    socketErrors,
  };
}

async function runAutocannon(
  url: string,
  headers: Readonly<Record<string, string>>,
  connections: number,
  durationS: number,
): Promise<LoadRun> {
  const result = await autocannon({ url, headers: { ...headers }, connections, duration: durationS, timeout: 10 });
  // autocannon counts timeouts among its errors.
  const socketErrors = result.errors;
  return {
    requests: result.requests.total,
    seconds: result.duration,
    rps: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.non2xx + socketErrors,
    non2xx: result.non2xx,
    socketErrors,
  };
}
