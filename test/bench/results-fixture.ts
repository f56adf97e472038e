import type { FixedRateSummary, ThroughputRound, ThroughputSummary } from '../../bench/report.mts';
import type { ChartableResults } from '../../bench/result-charts.mts';

const PERCENTILES = [50, 75, 90, 95, 99, 99.9, 100];

function throughput(rpsByRound: readonly number[], cpuUs: number | undefined): ThroughputSummary {
  const rounds: ThroughputRound[] = rpsByRound.map((rps, index) => ({
    round: index + 1,
    requests: rps * 15,
    seconds: 15,
    rps,
    p50Ms: 2,
    p99Ms: 9,
    errors: 0,
    non2xx: 0,
    socketErrors: 0,
    cpuUsPerRequest: cpuUs === undefined ? undefined : cpuUs + index - 1,
    peakRssMB: cpuUs === undefined ? undefined : 100,
    endRssAnonMB: undefined,
    endRssFileMB: undefined,
    headerMismatches: 0,
    upstreamRequests: rps * 15,
    logBytes: undefined,
  }));
  return {
    rounds,
    rps: [...rpsByRound].sort((a, b) => a - b)[Math.floor(rpsByRound.length / 2)]!,
    p50Ms: 2,
    p99Ms: 9,
    errors: 0,
    // The median of the rounds' cpuUs - 1, cpuUs and cpuUs + 1.
    cpuUsPerRequest: cpuUs,
    peakRssMB: undefined,
    logBytesPerRequest: undefined,
  };
}

/** A fixed-rate summary; with `recorded` false, as results written before the distribution was recorded. */
function fixedRate(ms: readonly number[], recorded: boolean): FixedRateSummary {
  const [p50, , p90, , p99, , max] = ms as [number, number, number, number, number, number, number];
  const distribution = PERCENTILES.map((percentile, index) => ({ percentile, ms: ms[index]! }));
  return {
    rounds: [
      {
        round: 1,
        sent: 20_000,
        errors: 0,
        achievedRps: 1000,
        p50Ms: p50,
        p90Ms: p90,
        p99Ms: p99,
        maxMs: max,
        distribution: recorded ? distribution : [],
        sentP50Ms: p50,
        sentP99Ms: p99,
        cpuUsPerRequest: 300,
        peakRssMB: 100,
      },
    ],
    achievedRps: 1000,
    p50Ms: p50,
    p99Ms: p99,
    errors: 0,
    cpuUsPerRequest: 300,
    ...(recorded && { distribution }),
  };
}

/**
 * A small results file as `npm run bench` writes it, with figures that are
 * easy to find in the SVG. The targets are listed out of the benchmark's
 * order on purpose: the charts must put them back in it.
 */
export const RESULTS: ChartableResults = {
  startedAt: '2026-01-02T03:04:05.000Z',
  options: {
    quick: false,
    connections: 32,
    durationS: 15,
    warmupS: 5,
    rounds: 3,
    rate: 1000,
    rateDurationS: 20,
    rateRounds: 1,
    streamMiB: 1024,
    streamRounds: 3,
    coldStartRuns: 9,
    profileDurationS: 15,
    loadGenerator: 'auto',
    targets: ['direct', 'nginx', 'baseline', 'atlas'],
    phases: ['throughput', 'fixed-rate'],
    install: false,
    gatewayDir: undefined,
  },
  setup: { gateway: 'abc1234' },
  throughput: {
    atlas: throughput([2265, 2101, 2310], 433),
    direct: throughput([22803, 22100, 23050], undefined),
    baseline: throughput([3212, 3150, 3300], 311),
    nginx: throughput([15035, 14800, 15200], 47),
  },
  fixedRate: {
    targets: {
      atlas: fixedRate([1.87, 2.4, 3.3, 4.1, 7.77, 15.5, 31.4], true),
      direct: fixedRate([0.61, 0.74, 0.92, 1.1, 1.9, 4.2, 9.8], true),
      nginx: fixedRate([0.85, 1, 1.3, 1.6, 2.8, 6.1, 12.5], true),
      baseline: fixedRate([1.05, 1.4, 2.2, 2.9, 5.3, 11.2, 21], false),
    },
    addedP50Ms: 1.26,
    addedP99Ms: 5.87,
  },
};
