import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { percentile } from './stats.mts';

/**
 * Where the latency distribution is sampled: enough points to draw its
 * shape (a tail that rises only past p99 versus one that rises from p75)
 * while staying a few numbers per run. 100 is the slowest request.
 */
export const LATENCY_PERCENTILES = [50, 75, 90, 95, 99, 99.9, 100] as const;

export interface LatencyPercentile {
  readonly percentile: number;
  readonly ms: number;
}

export interface FixedRateRun {
  readonly sent: number;
  readonly errors: number;
  readonly achievedRps: number;
  /** Latency from the moment each request was due (so a stall delays every request behind it, as for a real caller). */
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The same latency (from the moment each request was due) at each of LATENCY_PERCENTILES. */
  readonly distribution: readonly LatencyPercentile[];
  /** Latency from the moment each request was actually written (hides the generator's own lag). */
  readonly sentP50Ms: number;
  readonly sentP99Ms: number;
}

/**
 * An open-loop generator (what wrk2 does; Debian has no wrk2): requests
 * leave on a fixed schedule whether or not earlier ones were answered, over
 * a keep-alive pool that grows as needed, so a slow target shows up as
 * latency rather than as a lower rate.
 */
export async function runFixedRate(
  url: string,
  headers: Readonly<Record<string, string>>,
  rate: number,
  durationS: number,
): Promise<FixedRateRun> {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const options: http.RequestOptions = {
    host: target.hostname,
    port: target.port,
    path: `${target.pathname}${target.search}`,
    headers: { ...headers },
    agent,
  };
  const total = Math.round(rate * durationS);
  const fromDue = new Float64Array(total);
  const fromSent = new Float64Array(total);
  let completed = 0;
  let answered = 0;
  let errors = 0;
  let sent = 0;
  const intervalMs = 1000 / rate;

  const start = performance.now();
  const allAnswered = new Promise<void>((resolve) => {
    const settle = () => {
      if (++completed === total) resolve();
    };
    const fire = (due: number) => {
      const writtenAt = performance.now();
      const req = http.request(options, (res) => {
        res.resume();
        res.once('end', () => {
          const now = performance.now();
          if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) {
            fromDue[answered] = now - due;
            fromSent[answered] = now - writtenAt;
            answered++;
          } else {
            errors++;
          }
          settle();
        });
      });
      req.once('error', () => {
        errors++;
        settle();
      });
      req.end();
    };
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
      while (sent < due) fire(start + sent++ * intervalMs);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const lateMs = 10_000;
  await Promise.race([allAnswered, new Promise((resolve) => setTimeout(resolve, durationS * 1000 + lateMs).unref())]);
  const elapsedS = (performance.now() - start) / 1000;
  agent.destroy();

  const unanswered = total - completed;
  const due = fromDue.subarray(0, answered).sort();
  const written = fromSent.subarray(0, answered).sort();
  return {
    sent,
    errors: errors + unanswered,
    achievedRps: answered / Math.max(elapsedS, durationS),
    p50Ms: percentile(due, 50),
    p90Ms: percentile(due, 90),
    p99Ms: percentile(due, 99),
    maxMs: due.length > 0 ? due[due.length - 1]! : Number.NaN,
    distribution: LATENCY_PERCENTILES.map((p) => ({ percentile: p, ms: percentile(due, p) })),
    sentP50Ms: percentile(written, 50),
    sentP99Ms: percentile(written, 99),
  };
}
