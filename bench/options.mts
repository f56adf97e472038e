import { parseArgs } from 'node:util';

export const TARGET_NAMES = ['direct', 'nginx', 'node', 'undici', 'baseline', 'atlas'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];
/**
 * `node` (a bare node:http proxy) and `undici` (the same with undici's pool as
 * its client) are references for where the floor is, measured on request.
 */
const DEFAULT_TARGETS: readonly TargetName[] = ['direct', 'nginx', 'baseline', 'atlas'];

export const PHASES = ['cold-start', 'throughput', 'fixed-rate', 'streaming', 'profile'] as const;
export type Phase = (typeof PHASES)[number];

export type LoadGeneratorChoice = 'auto' | 'wrk' | 'autocannon';

export interface BenchOptions {
  readonly quick: boolean;
  readonly connections: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly rounds: number;
  readonly rate: number;
  readonly rateDurationS: number;
  readonly rateRounds: number;
  readonly streamMiB: number;
  readonly streamRounds: number;
  readonly coldStartRuns: number;
  readonly profileDurationS: number;
  readonly loadGenerator: LoadGeneratorChoice;
  readonly targets: readonly TargetName[];
  readonly phases: readonly Phase[];
  readonly install: boolean;
  /** Another checkout whose gateway to measure instead of this one's. */
  readonly gatewayDir: string | undefined;
}

const FULL = {
  connections: 32,
  durationS: 15,
  warmupS: 5,
  rounds: 5,
  rate: 1000,
  rateDurationS: 20,
  rateRounds: 5,
  streamMiB: 1024,
  streamRounds: 3,
  coldStartRuns: 9,
  profileDurationS: 15,
};

// Short enough for a check that the setup works (under two minutes); too
// short for figures worth quoting.
const QUICK: typeof FULL = {
  ...FULL,
  durationS: 3,
  warmupS: 2,
  rounds: 3,
  rateDurationS: 5,
  rateRounds: 1,
  streamMiB: 256,
  streamRounds: 1,
  coldStartRuns: 3,
  profileDurationS: 5,
};

/** Numeric options: flag name, environment variable, key. */
const NUMBERS = [
  ['connections', 'BENCH_CONNECTIONS', 'connections'],
  ['duration', 'BENCH_DURATION', 'durationS'],
  ['warmup', 'BENCH_WARMUP', 'warmupS'],
  ['rounds', 'BENCH_ROUNDS', 'rounds'],
  ['rate', 'BENCH_RATE', 'rate'],
  ['rate-duration', 'BENCH_RATE_DURATION', 'rateDurationS'],
  ['rate-rounds', 'BENCH_RATE_ROUNDS', 'rateRounds'],
  ['stream-mib', 'BENCH_STREAM_MIB', 'streamMiB'],
  ['stream-rounds', 'BENCH_STREAM_ROUNDS', 'streamRounds'],
  ['cold-start-runs', 'BENCH_COLD_START_RUNS', 'coldStartRuns'],
  ['profile-duration', 'BENCH_PROFILE_DURATION', 'profileDurationS'],
] as const satisfies readonly (readonly [string, string, keyof typeof FULL])[];

export const CHART_USAGE = `node bench/chart.mts [RESULTS.json] [options]

Draws the charts of a results file again, and the flame graph of any V8
.cpuprofile (the bundled gateway's as well as the tsc build's), with vega.

  --out-dir DIR           write DIR/throughput.svg and DIR/latency.svg (default:
                          <results>-throughput.svg ... beside the results file)
  --profile FILE          draw FILE's flame graph (without it and --out-dir:
                          the results' own profile, if its file is still there)
  --flame-out FILE        where the flame graph goes (default:
                          <out dir or the profile's dir>/<profile name>-flame.svg)
  --min-frame-percent P   leave out frames under P% of busy time (0.2)
  --max-depth N           draw stacks up to N frames deep (32)
  --exclude-program       leave out (program), V8's own unattributed time

The pictures in docs/performance.md live in bench/charts/; remake them with
  node bench/chart.mts bench/results/<stamp>.json --out-dir bench/charts \\
    --profile bench/results/<stamp>-atlas.cpuprofile --flame-out bench/charts/flame-after.svg`;

export const USAGE = `npm run bench [-- options]

Measures Atlas side by side with a direct connection, nginx and a minimal
Express + http-proxy-middleware proxy, all on 127.0.0.1.

  --quick                 a short run (under two minutes) to check the setup
  --connections N         concurrent connections of the load runs (32)        BENCH_CONNECTIONS
  --duration S            seconds per load run (15; quick 3)                  BENCH_DURATION
  --warmup S              warm-up seconds per target (5; quick 2)             BENCH_WARMUP
  --rounds N              alternating rounds per target (5; quick 3)          BENCH_ROUNDS
  --rate N                requests/s of the fixed-rate run (1000)             BENCH_RATE
  --rate-duration S       seconds per fixed-rate run (20; quick 5)            BENCH_RATE_DURATION
  --rate-rounds N         fixed-rate rounds per target (5; quick 1)           BENCH_RATE_ROUNDS
  --stream-mib N          MiB per streamed transfer (1024; quick 256)         BENCH_STREAM_MIB
  --stream-rounds N       transfers per target and direction (3; quick 1)     BENCH_STREAM_ROUNDS
  --cold-start-runs N     gateway starts timed (9; quick 3)                   BENCH_COLD_START_RUNS
  --profile-duration S    seconds of load while profiling (15; quick 5)      BENCH_PROFILE_DURATION
  --load-generator G      auto, wrk or autocannon (auto: wrk if found)        BENCH_LOAD_GENERATOR
  --targets LIST          comma-separated, from ${TARGET_NAMES.join(',')}
                          (default: ${DEFAULT_TARGETS.join(',')}; node is a bare node:http proxy,
                          undici the same with undici's connection pool as its client)
  --phases LIST           comma-separated subset of ${PHASES.join(',')}
                          (default: all; profile is left out of --quick)
  --gateway-dir DIR       measure the gateway of another checkout, built there    BENCH_GATEWAY_DIR
                          (DIR needs node_modules: npm ci there, or link this one's)
  --no-install            never run apt-get, even as root
  --help

Each run writes bench/results/<stamp>.json and .md, and SVG charts beside
them: <stamp>-throughput.svg, <stamp>-latency.svg and, from the profile
phase, <stamp>-atlas.cpuprofile with its flame graph <stamp>-atlas-flame.svg.

${CHART_USAGE}`;

export function readOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    allowNegative: true,
    options: {
      quick: { type: 'boolean', default: env.BENCH_QUICK === '1' },
      help: { type: 'boolean', short: 'h' },
      install: { type: 'boolean', default: env.BENCH_INSTALL !== '0' },
      'load-generator': { type: 'string', default: env.BENCH_LOAD_GENERATOR ?? 'auto' },
      targets: { type: 'string', default: env.BENCH_TARGETS },
      phases: { type: 'string', default: env.BENCH_PHASES },
      'gateway-dir': { type: 'string', default: env.BENCH_GATEWAY_DIR },
      ...Object.fromEntries(NUMBERS.map(([flag]) => [flag, { type: 'string' as const }])),
    },
  });
  if (values.help) return 'help';

  const quick = values.quick === true;
  const defaults = quick ? QUICK : FULL;
  const numbers = { ...defaults };
  for (const [flag, variable, key] of NUMBERS) {
    const raw = (values as Record<string, unknown>)[flag] ?? env[variable];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) {
      throw new Error(`--${flag} (${variable}) must be a positive number, such as ${defaults[key]}; got "${raw}"`);
    }
    numbers[key] = value;
  }

  const loadGenerator = values['load-generator'];
  if (loadGenerator !== 'auto' && loadGenerator !== 'wrk' && loadGenerator !== 'autocannon') {
    throw new Error(`--load-generator must be auto, wrk or autocannon; got "${loadGenerator}"`);
  }
  const defaultPhases = quick ? PHASES.filter((phase) => phase !== 'profile') : PHASES;
  return {
    quick,
    ...numbers,
    loadGenerator,
    targets: readList('--targets', values.targets, TARGET_NAMES, DEFAULT_TARGETS),
    phases: readList('--phases', values.phases, PHASES, defaultPhases),
    install: values.install !== false,
    gatewayDir: values['gateway-dir'],
  };
}

function readList<T extends string>(
  flag: string,
  raw: string | undefined,
  allowed: readonly T[],
  fallback: readonly T[],
): readonly T[] {
  if (raw === undefined || raw.trim() === '') return fallback;
  const picked = raw.split(',').map((item) => item.trim());
  const unknown = picked.filter((item) => !allowed.includes(item as T));
  if (unknown.length > 0) throw new Error(`${flag}: unknown ${unknown.join(', ')}; choose from ${allowed.join(', ')}`);
  // Keep the canonical order so that tables always read the same way.
  return allowed.filter((item) => picked.includes(item));
}
