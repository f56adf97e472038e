import type { FixedRateRun, LatencyPercentile } from './fixed-rate.mts';
import type { LoadRun } from './load.mts';
import type { Machine, Tools } from './machine.mts';
import type { BenchOptions, TargetName } from './options.mts';
import type { ProfileSummary } from './profile.mts';
import { median } from './stats.mts';
import type { Transfer } from './streaming.mts';

export interface ThroughputRound extends LoadRun {
  readonly round: number;
  /** CPU time (user + system) of the proxy process per request. */
  readonly cpuUsPerRequest: number | undefined;
  /** Highest RSS of the proxy process during the run. */
  readonly peakRssMB: number | undefined;
  /** RSS at the end of the run: the process's own memory, and mapped files (mostly its executable). */
  readonly endRssAnonMB: number | undefined;
  readonly endRssFileMB: number | undefined;
  /** Requests the upstream refused because an injected header was missing or wrong (already among `errors`). */
  readonly headerMismatches: number;
  readonly upstreamRequests: number;
  /** Bytes the proxy's request log grew by during the run. */
  readonly logBytes: number | undefined;
}

export interface ThroughputSummary {
  readonly rounds: readonly ThroughputRound[];
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Over all rounds. */
  readonly errors: number;
  readonly cpuUsPerRequest: number | undefined;
  /** Highest over all rounds. */
  readonly peakRssMB: number | undefined;
  readonly logBytesPerRequest: number | undefined;
}

export interface StreamingRound {
  readonly round: number;
  readonly transfer: Transfer;
  readonly startRssMB: number | undefined;
  readonly peakRssMB: number | undefined;
  readonly growthMB: number | undefined;
}

export interface StreamingSummary {
  readonly rounds: readonly StreamingRound[];
  readonly mbps: number;
  /** Highest over all rounds. */
  readonly growthMB: number | undefined;
  readonly peakRssMB: number | undefined;
  readonly errors: number;
}

export interface FixedRateSummary {
  readonly rounds: readonly (FixedRateRun & {
    readonly round: number;
    readonly cpuUsPerRequest: number | undefined;
    readonly peakRssMB: number | undefined;
  })[];
  readonly achievedRps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly cpuUsPerRequest: number;
  /** Latency at each percentile, the median over rounds (absent from results written before it was recorded). */
  readonly distribution?: readonly LatencyPercentile[];
}

export interface Goal {
  readonly goal: string;
  readonly figure: string;
  readonly met: boolean | undefined;
}

export interface Results {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: string;
  readonly options: BenchOptions;
  readonly machine: Machine;
  readonly tools: Tools & { readonly loadGeneratorName: string };
  readonly setup: Readonly<Record<string, string>>;
  readonly coldStart: { readonly runsMs: readonly number[]; readonly medianMs: number } | undefined;
  readonly throughput: Partial<Record<TargetName, ThroughputSummary>>;
  readonly ratios: Readonly<Record<string, number>>;
  readonly fixedRate:
    | {
        readonly targets: Partial<Record<TargetName, FixedRateSummary>>;
        readonly addedP50Ms: number | undefined;
        readonly addedP99Ms: number | undefined;
      }
    | undefined;
  readonly streaming:
    | {
        readonly bytes: number;
        readonly download: Partial<Record<TargetName, StreamingSummary>>;
        readonly upload: Partial<Record<TargetName, StreamingSummary>>;
      }
    | undefined;
  readonly profile: (ProfileSummary & { readonly rps: number; readonly durationS: number }) | undefined;
  readonly goals: readonly Goal[];
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const show = (value: number | undefined, digits: number): string =>
  value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits);
const showInteger = (value: number | undefined): string =>
  value === undefined || Number.isNaN(value) ? '–' : integer.format(value);
const signed = (value: number | undefined, digits: number): string =>
  value === undefined || Number.isNaN(value) ? '–' : `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;

/** A Markdown table padded to line up in a terminal too. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], numeric: boolean[]): string {
  const widths = headers.map((header, column) => Math.max(3, header.length, ...rows.map((row) => row[column]!.length)));
  const pad = (cell: string, column: number) =>
    numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!);
  const line = (cells: readonly string[]) => `| ${cells.map(pad).join(' | ')} |`;
  // Laid out as Prettier lays out Markdown tables, so that a table pasted into a document stays as it is.
  const rule = `| ${widths.map((width, column) => (numeric[column] ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** Latency at the fixed rate may add this much over direct, at p50 and p99, in this share of rounds. */
export const ADDED_LATENCY_LIMITS = { p50Ms: 1, p99Ms: 3, share: 0.8 } as const;

/**
 * What atlas added over direct in each fixed-rate round: round i of each
 * target ran in the same pass over the targets, so the two saw the same
 * machine.
 */
export function addedLatencyByRound(
  fixedRate: Results['fixedRate'],
): { readonly p50Ms: number; readonly p99Ms: number; readonly within: boolean }[] {
  const atlas = fixedRate?.targets.atlas?.rounds ?? [];
  const direct = fixedRate?.targets.direct?.rounds ?? [];
  return atlas.flatMap((round, index) => {
    const reference = direct[index];
    if (reference === undefined) return [];
    const p50Ms = round.p50Ms - reference.p50Ms;
    const p99Ms = round.p99Ms - reference.p99Ms;
    return [{ p50Ms, p99Ms, within: p50Ms <= ADDED_LATENCY_LIMITS.p50Ms && p99Ms <= ADDED_LATENCY_LIMITS.p99Ms }];
  });
}

/** The targets a full run is judged against (issue 15's, and those met before it that must stay met). */
export function evaluateGoals(results: Omit<Results, 'goals' | 'finishedAt'>): Goal[] {
  const goals: Goal[] = [];
  const goal = (text: string, value: number | undefined, limit: number, atMost: boolean, unit: string, digits = 2) =>
    goals.push({
      goal: text,
      figure: value === undefined || Number.isNaN(value) ? 'not measured' : `${value.toFixed(digits)}${unit}`,
      met: value === undefined || Number.isNaN(value) ? undefined : atMost ? value <= limit : value >= limit,
    });
  const cpu = (name: TargetName) => results.throughput[name]?.cpuUsPerRequest;
  const atlasCpu = cpu('atlas');
  const nodeCpu = cpu('node');
  goal('throughput atlas/baseline ≥ 1.3', results.ratios['atlas/baseline'], 1.3, false, '');
  goal(
    'CPU per request atlas/node ≤ 1.15',
    atlasCpu !== undefined && nodeCpu !== undefined ? atlasCpu / nodeCpu : undefined,
    1.15,
    true,
    '',
  );
  goal('throughput atlas/nginx ≥ 0.35', results.ratios['atlas/nginx'], 0.35, false, '');
  const rounds = addedLatencyByRound(results.fixedRate);
  const within = rounds.filter((round) => round.within).length;
  goals.push({
    goal: `at ${integer.format(results.options.rate)} req/s, ≤ ${ADDED_LATENCY_LIMITS.p50Ms} ms added at p50 and ≤ ${ADDED_LATENCY_LIMITS.p99Ms} ms at p99 over direct, in ≥ ${ADDED_LATENCY_LIMITS.share * 100}% of rounds`,
    figure:
      rounds.length === 0
        ? 'not measured'
        : `${within} of ${rounds.length} rounds (${rounds.map((round) => `${signed(round.p50Ms, 2)}/${signed(round.p99Ms, 2)}`).join(', ')} ms)`,
    met: rounds.length === 0 ? undefined : within >= ADDED_LATENCY_LIMITS.share * rounds.length,
  });
  goal('RSS under load ≤ 120 MB', results.throughput.atlas?.peakRssMB, 120, true, ' MB', 1);
  const streamed = results.streaming;
  const size = streamed ? `${Math.round(streamed.bytes / 2 ** 20)} MiB` : '1 GiB';
  goal(`${size} download: peak RSS growth ≤ 16 MB`, streamed?.download.atlas?.growthMB, 16, true, ' MB', 1);
  goal(`${size} upload: peak RSS growth ≤ 16 MB`, streamed?.upload.atlas?.growthMB, 16, true, ' MB', 1);
  const ratio = (direction: 'download' | 'upload') => {
    const atlas = streamed?.[direction].atlas?.mbps;
    const nginx = streamed?.[direction].nginx?.mbps;
    return atlas !== undefined && nginx !== undefined ? atlas / nginx : undefined;
  };
  goal('download throughput atlas/nginx ≥ 0.5', ratio('download'), 0.5, false, '');
  goal('upload throughput atlas/nginx ≥ 0.5', ratio('upload'), 0.5, false, '');
  goal('cold start ≤ 300 ms', results.coldStart?.medianMs, 300, true, ' ms', 0);
  return goals;
}

export function formatReport(results: Results): string {
  const { options, machine, tools } = results;
  const out: string[] = [];
  out.push(
    `Date: ${results.startedAt} · Command: \`${results.command}\``,
    `Machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGB} GB, ${machine.platform} ${machine.kernel}, ` +
      `load average ${machine.loadAverage1m} at start`,
    `Node ${machine.node} · nginx ${tools.nginx.version} · load generator ${tools.loadGeneratorName} · ` +
      Object.entries(tools.packages)
        .map(([name, version]) => `${name} ${version}`)
        .join(' · '),
    '',
  );
  for (const [what, how] of Object.entries(results.setup)) out.push(`- ${what}: ${how}`);
  out.push('');

  const throughput = Object.entries(results.throughput);
  if (throughput.length > 0) {
    out.push(
      `### Throughput: ${options.connections} connections, ${options.durationS} s × ${options.rounds} alternating rounds ` +
        `after a ${options.warmupS} s warm-up, medians`,
      '',
      table(
        ['target', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'proxy CPU µs/req', 'proxy peak RSS MB'],
        throughput.map(([name, summary]) => [
          name,
          showInteger(summary.rps),
          show(summary.p50Ms, 2),
          show(summary.p99Ms, 2),
          showInteger(summary.errors),
          showInteger(summary.cpuUsPerRequest),
          show(summary.peakRssMB, 1),
        ]),
        [false, true, true, true, true, true, true],
      ),
      '',
      `RSS at the end of the runs, own memory + mapped files (mostly the executable), medians: ${
        throughput
          .filter(([, summary]) => summary.rounds.some((round) => round.endRssAnonMB !== undefined))
          .map(([name, summary]) => {
            const anon = median(summary.rounds.map((round) => round.endRssAnonMB ?? Number.NaN));
            const file = median(summary.rounds.map((round) => round.endRssFileMB ?? Number.NaN));
            return `${name} ${show(anon, 1)} + ${show(file, 1)} MB`;
          })
          .join(' · ') || '–'
      }`,
      '',
      `Ratios: ${
        Object.entries(results.ratios)
          .map(([name, value]) => `${name} ${value.toFixed(2)}`)
          .join(' · ') || '–'
      }`,
      '',
    );
  }

  if (results.fixedRate) {
    const { targets, addedP50Ms, addedP99Ms } = results.fixedRate;
    out.push(
      `### Fixed rate: ${integer.format(options.rate)} req/s for ${options.rateDurationS} s × ${options.rateRounds} ` +
        `round(s), medians (open-loop Node generator; latency from each request's scheduled time)`,
      '',
      table(
        ['target', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'proxy CPU µs/req', 'p50 added', 'p99 added'],
        Object.entries(targets).map(([name, summary]) => [
          name,
          showInteger(summary.achievedRps),
          show(summary.p50Ms, 2),
          show(summary.p99Ms, 2),
          showInteger(summary.errors),
          showInteger(summary.cpuUsPerRequest),
          name === 'direct' ? '' : signed(summary.p50Ms - (targets.direct?.p50Ms ?? Number.NaN), 2),
          name === 'direct' ? '' : signed(summary.p99Ms - (targets.direct?.p99Ms ?? Number.NaN), 2),
        ]),
        [false, true, true, true, true, true, true, true],
      ),
      '',
      `Latency atlas adds over direct: p50 ${signed(addedP50Ms, 2)} ms · p99 ${signed(addedP99Ms, 2)} ms (medians); ` +
        `per round (p50/p99 ms): ${
          addedLatencyByRound(results.fixedRate)
            .map((round) => `${signed(round.p50Ms, 2)}/${signed(round.p99Ms, 2)}`)
            .join(', ') || '–'
        }`,
      '',
    );
  }

  if (results.streaming) {
    const { download, upload, bytes } = results.streaming;
    const names = [...new Set([...Object.keys(download), ...Object.keys(upload)])] as TargetName[];
    out.push(
      `### Streaming: ${Math.round(bytes / 2 ** 20)} MiB each way on one connection, ${options.streamRounds} round(s) ` +
        "per direction (uploads first), median MB/s; the proxy's RSS growth over its RSS before each transfer, highest",
      '',
      table(
        [
          'target',
          'download MB/s',
          'RSS growth MB',
          'peak RSS MB',
          'upload MB/s',
          'RSS growth MB',
          'peak RSS MB',
          'errors',
        ],
        names.map((name) => [
          name,
          show(download[name]?.mbps, 0),
          show(download[name]?.growthMB, 1),
          show(download[name]?.peakRssMB, 1),
          show(upload[name]?.mbps, 0),
          show(upload[name]?.growthMB, 1),
          show(upload[name]?.peakRssMB, 1),
          showInteger((download[name]?.errors ?? 0) + (upload[name]?.errors ?? 0)),
        ]),
        [false, true, true, true, true, true, true, true],
      ),
      '',
    );
  }

  if (results.coldStart) {
    const runs = results.coldStart.runsMs;
    out.push(
      `### Cold start: spawn to the first 200 from /healthz, ${runs.length} runs`,
      '',
      `median ${show(results.coldStart.medianMs, 0)} ms (min ${show(Math.min(...runs), 0)}, max ${show(Math.max(...runs), 0)})`,
      '',
    );
  }

  out.push(
    '### Targets',
    '',
    table(
      ['target', 'measured', 'met?'],
      results.goals.map((goal) => [
        goal.goal,
        goal.figure,
        goal.met === undefined ? 'not measured' : goal.met ? 'met' : 'not met',
      ]),
      [false, true, false],
    ),
    '',
  );

  if (results.profile) {
    const profile = results.profile;
    const entries = (list: ProfileSummary['topFunctions'], count: number) =>
      table(
        ['', 'ms', '% of busy'],
        list.slice(0, count).map((entry) => [entry.name, showInteger(entry.ms), show(entry.percent, 1)]),
        [false, true, true],
      );
    out.push(
      `### Where the time goes: atlas under ${options.connections} connections for ${profile.durationS} s with --cpu-prof ` +
        `(${showInteger(profile.rps)} req/s while profiled; busy ${showInteger(profile.busyMs)} of ${showInteger(profile.totalMs)} ms)`,
      '',
      'By part of the request path (each sample charged to the innermost part on its stack):',
      '',
      entries(profile.byLayer, 12),
      '',
      "Each part's own code (each sample charged to the part of the function running; Node core includes native code):",
      '',
      profile.selfByLayer ? entries(profile.selfByLayer, 12) : 'not recorded',
      '',
      'Self time by module:',
      '',
      entries(profile.selfByModule, 15),
      '',
      'Inclusive time by module (the module anywhere on the stack):',
      '',
      entries(profile.inclusiveByModule, 15),
      '',
      'Top functions by self time:',
      '',
      entries(profile.topFunctions, 25),
      '',
    );
  }
  return out.join('\n');
}
