import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { LATENCY_PERCENTILES, type LatencyPercentile } from './fixed-rate.mts';
import { TARGET_NAMES, type TargetName } from './options.mts';
import type { FixedRateSummary, Results } from './report.mts';
import { median } from './stats.mts';
import { writeSvg, type ChartEncoding } from './svg.mts';

/** What the charts read from a results file; older files and hand-made fixtures need no more than this. */
export type ChartableResults = Pick<Results, 'startedAt' | 'options' | 'setup' | 'throughput' | 'fixedRate'>;

/** Atlas in a colour none of the references share, so it is found at a glance in every chart. */
const ATLAS_COLOR = '#d94801';
const OTHER_BAR_COLOR = '#9db4cc';
const TARGET_COLORS: Readonly<Record<TargetName, string>> = {
  direct: '#7f7f7f',
  nginx: '#59a14f',
  node: '#76b7b2',
  undici: '#b07aa1',
  baseline: '#4e79a7',
  atlas: ATLAS_COLOR,
};
const IS_ATLAS = "datum.target === 'atlas'";

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const signed = (ms: number): string => `${ms >= 0 ? '+' : ''}${ms.toFixed(2)} ms`;
/** Targets in the order the benchmark lists them, whatever order the file has them in. */
function inOrder<T>(record: Partial<Record<TargetName, T>>): [TargetName, T][] {
  return TARGET_NAMES.flatMap((name) => (record[name] === undefined ? [] : [[name, record[name]] as [TargetName, T]]));
}
const finite = (value: number | null | undefined): value is number =>
  typeof value === 'number' && Number.isFinite(value);

function provenance(results: ChartableResults): string {
  const gateway = results.setup.gateway;
  return `${results.startedAt.slice(0, 16).replace('T', ' ')} UTC${gateway ? ` · gateway ${gateway}` : ''}`;
}

interface MetricRow {
  readonly target: TargetName;
  readonly median: number | null;
  /** Each round's figure, drawn as dots over the bar: the spread says how far the median can be trusted. */
  readonly rounds: readonly number[];
  readonly label: string;
  /** Where the label goes: past the bar and past every round's dot. */
  readonly labelAt: number;
}

/** One view of a side-by-side chart, as Vega-Lite types it. */
type Panel = Extract<TopLevelSpec, { hconcat: unknown }>['hconcat'][number];

function metricPanel(title: string, unit: string, rows: readonly MetricRow[]): Panel {
  const order = rows.map((row) => row.target);
  const top = Math.max(1, ...rows.map((row) => row.labelAt));
  const y: ChartEncoding['y'] = {
    field: 'target',
    type: 'nominal',
    sort: order,
    title: null,
    axis: { labelFontSize: 12 },
  };
  const x = (field: string): ChartEncoding['x'] => ({
    field,
    type: 'quantitative',
    title: unit,
    // Room on the right for the figures written past the bars.
    scale: { domainMin: 0, domainMax: top * 1.3, nice: false },
    axis: { format: ',~f', tickCount: 5, grid: true },
  });
  return {
    title: { text: title, fontSize: 13, fontWeight: 'normal', anchor: 'middle' },
    width: 330,
    height: { step: 28 },
    data: { values: rows.map((row) => ({ ...row })) },
    layer: [
      {
        mark: { type: 'bar', height: 18 },
        encoding: {
          y,
          x: x('median'),
          color: { condition: { test: IS_ATLAS, value: ATLAS_COLOR }, value: OTHER_BAR_COLOR },
        },
      },
      {
        transform: [{ flatten: ['rounds'], as: ['round'] }],
        mark: { type: 'point', filled: true, size: 22, color: '#333', opacity: 0.7 },
        encoding: { y, x: x('round') },
      },
      {
        mark: { type: 'text', align: 'left', dx: 5, fontSize: 12 },
        encoding: {
          y,
          x: x('labelAt'),
          text: { field: 'label' },
          color: { condition: { test: IS_ATLAS, value: ATLAS_COLOR }, value: '#222' },
        },
      },
    ],
  };
}

/**
 * Requests/s and the proxy's CPU time per request, side by side: the first
 * is what a caller gets, the second what it costs, and the one noise on a
 * shared machine moves least.
 */
export function throughputSpec(results: ChartableResults): TopLevelSpec | undefined {
  const summaries = inOrder(results.throughput);
  if (summaries.length === 0) return undefined;
  const { options } = results;
  const rps: MetricRow[] = summaries.map(([target, summary]) => {
    const rounds = summary.rounds.map((round) => round.rps).filter(finite);
    return {
      target,
      median: finite(summary.rps) ? summary.rps : null,
      rounds,
      label: finite(summary.rps) ? `${integer.format(summary.rps)} req/s` : 'not measured',
      labelAt: Math.max(0, ...rounds, finite(summary.rps) ? summary.rps : 0),
    };
  });
  const cpu: MetricRow[] = summaries.map(([target, summary]) => {
    const rounds = summary.rounds.map((round) => round.cpuUsPerRequest).filter(finite);
    const value = summary.cpuUsPerRequest;
    return {
      target,
      median: finite(value) ? value : null,
      rounds,
      label: finite(value) ? `${integer.format(value)} µs` : target === 'direct' ? 'no proxy' : 'not measured',
      labelAt: Math.max(0, ...rounds, finite(value) ? value : 0),
    };
  });
  const roundsNote = `bars: median of ${options.rounds} round${options.rounds === 1 ? '' : 's'}, dots: each round`;
  return {
    title: {
      text: `Throughput: ${options.connections} connections, ${options.durationS} s per round`,
      subtitle: [
        `${roundsNote}${options.quick ? ' · a --quick run: too short for figures worth quoting' : ''}`,
        provenance(results),
      ],
    },
    hconcat: [
      metricPanel('requests/s (higher is better)', 'req/s', rps),
      metricPanel('proxy CPU per request (lower is better)', 'µs of CPU per request', cpu),
    ],
    spacing: 30,
  };
}

/** Where on the percentile axis the slowest request goes: a decade past p99.9, where p99.99 would be. */
const MAX_ODDS = 10_000;

/**
 * The percentile axis is log-scaled in 1 / (1 − p): p50, p90, p99 and p99.9
 * are then evenly spaced, so the tail, where proxies differ, gets as much
 * room as the body of the distribution.
 */
function oddsOf(percentile: number): number {
  return percentile >= 100 ? MAX_ODDS : Math.round(1e6 / (100 - percentile)) / 1e4;
}
const percentileName = (percentile: number): string => (percentile >= 100 ? 'max' : `p${percentile}`);

/**
 * The distribution a summary holds; for results written before it was
 * recorded, the percentiles every round had (p50, p90, p99, max), each the
 * median over rounds.
 */
export function latencyDistribution(summary: FixedRateSummary): LatencyPercentile[] {
  const recorded = (summary.distribution ?? []).filter((point) => finite(point.ms));
  if (recorded.length > 0) return recorded;
  const fallback: [number, (round: FixedRateSummary['rounds'][number]) => number][] = [
    [50, (round) => round.p50Ms],
    [90, (round) => round.p90Ms],
    [99, (round) => round.p99Ms],
    [100, (round) => round.maxMs],
  ];
  return fallback
    .map(([percentile, read]) => ({ percentile, ms: median(summary.rounds.map(read).filter(finite)) }))
    .filter((point) => finite(point.ms));
}

/** Latency at each percentile of the fixed-rate run, one line per target. */
export function latencySpec(results: ChartableResults): TopLevelSpec | undefined {
  const fixedRate = results.fixedRate;
  const summaries = fixedRate ? inOrder(fixedRate.targets) : [];
  const points = summaries.flatMap(([target, summary]) =>
    latencyDistribution(summary).map(({ percentile, ms }) => ({
      target,
      percentile: percentileName(percentile),
      odds: oddsOf(percentile),
      ms,
      description: `${target} ${percentileName(percentile)}: ${ms} ms`,
    })),
  );
  if (!fixedRate || points.length === 0) return undefined;
  const { options } = results;
  const targets = summaries.map(([target]) => target);
  const ticks = LATENCY_PERCENTILES.map(oddsOf);
  const tickLabels = ticks
    .map((odds, index) => `datum.value === ${odds} ? '${percentileName(LATENCY_PERCENTILES[index]!)}' : `)
    .join('');
  const added =
    finite(fixedRate.addedP50Ms) && finite(fixedRate.addedP99Ms)
      ? ` · atlas adds ${signed(fixedRate.addedP50Ms)} at p50, ${signed(fixedRate.addedP99Ms)} at p99 over direct`
      : '';
  const x: ChartEncoding['x'] = {
    field: 'odds',
    type: 'quantitative',
    title: 'percentile of requests (log scale of 1 / (1 − p): each step right is ten times rarer)',
    scale: { type: 'log', domain: [ticks[0]!, MAX_ODDS] },
    axis: { values: ticks, labelExpr: `${tickLabels}''`, grid: true },
  };
  const y: ChartEncoding['y'] = {
    field: 'ms',
    type: 'quantitative',
    title: "latency ms, from each request's scheduled time (log scale)",
    scale: { type: 'log' },
    axis: { format: '~g', grid: true },
  };
  const color: ChartEncoding['color'] = {
    field: 'target',
    type: 'nominal',
    title: 'target',
    scale: { domain: targets, range: targets.map((target) => TARGET_COLORS[target]) },
    legend: { orient: 'right', labelFontSize: 12 },
  };
  return {
    title: {
      text: `Latency at a fixed ${integer.format(options.rate)} req/s`,
      subtitle: [
        (options.rateRounds === 1
          ? `one round of ${options.rateDurationS} s per target`
          : `${options.rateDurationS} s × ${options.rateRounds} rounds per target, the median of the rounds at each percentile`) +
          added,
        provenance(results),
      ],
    },
    width: 640,
    height: 340,
    data: { values: points },
    layer: [
      {
        mark: { type: 'line', interpolate: 'monotone' },
        encoding: {
          x,
          y,
          color,
          strokeWidth: { condition: { test: IS_ATLAS, value: 3 }, value: 1.5 },
        },
      },
      {
        mark: { type: 'point', filled: true },
        encoding: {
          x,
          y,
          color,
          size: { condition: { test: IS_ATLAS, value: 45 }, value: 20 },
          description: { field: 'description' },
        },
      },
      {
        // Atlas's own figures, written by its points.
        transform: [{ filter: IS_ATLAS }],
        mark: { type: 'text', align: 'center', dy: -11, fontSize: 11, fontWeight: 'bold', color: ATLAS_COLOR },
        encoding: { x, y, text: { field: 'ms', type: 'quantitative', format: '.3~r' } },
      },
    ],
  };
}

/** The file names of the charts; `prefix` is empty in bench/charts/ and `<stamp>-` in bench/results/. */
export const chartFile = (dir: string, prefix: string, chart: 'throughput' | 'latency'): string =>
  path.join(dir, `${prefix}${chart}.svg`);

/** Writes whichever charts the results have data for, and returns their paths. */
export async function writeResultCharts(results: ChartableResults, dir: string, prefix: string): Promise<string[]> {
  const written: string[] = [];
  for (const [chart, spec] of [
    ['throughput', throughputSpec(results)],
    ['latency', latencySpec(results)],
  ] as const) {
    if (spec === undefined) continue;
    const file = chartFile(dir, prefix, chart);
    await writeSvg(file, spec);
    written.push(file);
  }
  return written;
}
