import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { timeColdStart } from './cold-start.mts';
import { LATENCY_PERCENTILES, runFixedRate } from './fixed-rate.mts';
import { createLoadGenerator, type LoadGenerator } from './load.mts';
import { acquireBenchLock } from './lock.mts';
import { describeMachine, findTools } from './machine.mts';
import { readCpuSeconds, watchMemory } from './process-usage.mts';
import { readOptions, USAGE, type BenchOptions, type TargetName } from './options.mts';
import { request, type Running } from './processes.mts';
import { findProfile, summarizeProfile } from './profile.mts';
import {
  evaluateGoals,
  formatReport,
  type FixedRateSummary,
  type Results,
  type StreamingRound,
  type StreamingSummary,
  type ThroughputRound,
  type ThroughputSummary,
} from './report.mts';
import { median } from './stats.mts';
import { download, upload } from './streaming.mts';
import {
  directTarget,
  locateCheckout,
  makeSecrets,
  ROOT,
  startAtlas,
  startNginx,
  startNodeProxy,
  startUpstream,
  type Checkout,
  type Secrets,
  type Target,
  type Upstream,
} from './targets.mts';

const RESULTS_DIR = path.join(ROOT, 'bench/results');
const say = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2), process.env);
  if (options === 'help') {
    say(USAGE);
    return;
  }
  await acquireBenchLock(say);
  const startedAt = new Date();
  const machine = describeMachine();
  say(
    `Node ${machine.node} · ${machine.cpus} × ${machine.cpuModel} · ${machine.memoryGB} GB · load ${machine.loadAverage1m}`,
  );
  if (machine.loadAverage1m > machine.cpus / 2) {
    say(`load average ${machine.loadAverage1m}: other work is running, so the figures will be noisier`);
  }
  const tools = findTools(options.loadGenerator, options.install, say);
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'atlas-bench-'));
  process.once('exit', () => rmSync(workDir, { recursive: true, force: true }));
  const generator = createLoadGenerator(tools, workDir);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  say(`nginx ${tools.nginx.version} (${tools.nginx.path}) · load generator: ${generator.name}`);
  if (tools.loadGenerator.kind === 'autocannon' && options.loadGenerator === 'auto') {
    say(
      'wrk not found: autocannon generates the load in this process (install the Debian package "wrk" for lighter load)',
    );
  }
  say(`targets: ${options.targets.join(', ')} · phases: ${options.phases.join(', ')}`);
  const checkout = locateCheckout(options.gatewayDir);
  buildGateway(checkout);
  const gateway = describeGateway(checkout);
  say(`gateway: ${gateway}`);

  const secrets = makeSecrets();
  let coldStart: Results['coldStart'];
  if (options.phases.includes('cold-start')) coldStart = await measureColdStart(options, checkout, secrets);

  const upstream = await startUpstream(secrets);
  const started: Running[] = [];
  const targets: Target[] = [];
  for (const name of options.targets) {
    if (name === 'direct') {
      targets.push(directTarget(upstream, secrets));
      continue;
    }
    const target =
      name === 'nginx'
        ? await startNginx(tools.nginx.path, tools.nginx.configureArguments, workDir, upstream, secrets)
        : name === 'atlas'
          ? await startAtlas(checkout, workDir, upstream, secrets)
          : await startNodeProxy(name, upstream, secrets);
    started.push(target.process);
    targets.push(target.target);
  }
  await checkTargets(targets, upstream);

  const throughput: Results['throughput'] = options.phases.includes('throughput')
    ? await measureThroughput(options, generator, targets, upstream)
    : {};
  const ratios: Record<string, number> = {};
  for (const other of ['nginx', 'direct', 'baseline'] as const) {
    const atlas = throughput.atlas?.rps;
    const rps = throughput[other]?.rps;
    if (atlas !== undefined && rps !== undefined) ratios[`atlas/${other}`] = atlas / rps;
  }
  // The same comparison in CPU time per request, which noise on the machine moves much less.
  for (const other of ['nginx', 'baseline'] as const) {
    const atlas = throughput.atlas?.cpuUsPerRequest;
    const cpu = throughput[other]?.cpuUsPerRequest;
    if (atlas !== undefined && cpu !== undefined) ratios[`CPU per request atlas/${other}`] = atlas / cpu;
  }
  const fixedRate = options.phases.includes('fixed-rate') ? await measureFixedRate(options, targets) : undefined;
  const streaming = options.phases.includes('streaming') ? await measureStreaming(options, targets) : undefined;
  for (const running of started) await running.stop();

  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  mkdirSync(RESULTS_DIR, { recursive: true });
  const profile = options.phases.includes('profile')
    ? await profileAtlas(options, checkout, generator, workDir, upstream, secrets, stamp)
    : undefined;
  await upstream.process.stop();

  const partial = {
    startedAt: startedAt.toISOString(),
    command,
    options,
    machine,
    tools: { ...tools, loadGeneratorName: generator.name },
    setup: {
      gateway,
      upstream:
        'one Node process; GET /account answers a 0.5 KB Heroku-like JSON; every request must carry the two injected headers (a mismatch is a 400, counted as an error)',
      direct: 'the load generator sends the upstream key and Accept header itself',
      nginx:
        'one worker, upstream keep-alive (64), the two headers and X-Request-Id set; access log on: one JSON line per request written to a file',
      baseline:
        'express 5 + http-proxy-middleware 4, default options, changeOrigin, the two headers; no auth, no logging',
      ...(options.targets.includes('node') && {
        node: 'node:http server and client with a keep-alive agent, the two headers; no framework, auth or logging',
      }),
      ...(options.targets.includes('undici') && {
        undici: `node:http server and undici ${tools.packages.undici ?? ''} Pool (64 connections) as the client, the two headers; no framework, auth or logging`,
      }),
      atlas: `node ${[...checkout.nodeOptions, path.relative(checkout.dir, checkout.main)].join(' ')} (the image's command), NODE_ENV=production, caller token required, log level info (one JSON line per request) with stdout appended to a file`,
      'load generator': `${generator.name}${tools.loadGenerator.kind === 'wrk' ? ', one thread' : ', in the benchmark process'}`,
      'RSS and MB':
        'from /proc/<pid>/status (VmHWM reset before each run, and VmRSS sampled every 100 ms); MB = 10^6 bytes',
    },
    coldStart,
    throughput,
    ratios,
    fixedRate,
    streaming,
    profile,
  };
  const results: Results = { ...partial, finishedAt: new Date().toISOString(), goals: evaluateGoals(partial) };
  const report = formatReport(results);
  writeFileSync(
    path.join(RESULTS_DIR, `${stamp}.json`),
    `${JSON.stringify(results, (_key, value: unknown) => value ?? null, 2)}\n`,
  );
  writeFileSync(path.join(RESULTS_DIR, `${stamp}.md`), `${report.trimEnd()}\n`);

  say();
  say(report);
  say(`Results: ${path.relative(ROOT, path.join(RESULTS_DIR, `${stamp}.json`))} (and .md)`);
  await drawCharts(results, stamp);
}

/**
 * The run's charts, beside its results. Vega is loaded only now, so that it
 * weighs on no measurement (autocannon runs in this process). A chart that
 * fails to draw costs no figures: the results are written already, and
 * bench/chart.mts draws them again once the cause is fixed.
 */
async function drawCharts(results: Results, stamp: string): Promise<void> {
  try {
    const { writeResultCharts } = await import('./result-charts.mts');
    const { flameFileFor, writeFlameGraph } = await import('./flame-graph.mts');
    const charts = await writeResultCharts(results, RESULTS_DIR, `${stamp}-`);
    if (results.profile) {
      const profile = path.resolve(ROOT, results.profile.file);
      const flame = flameFileFor(profile);
      await writeFlameGraph(profile, flame);
      charts.push(flame);
    }
    say(`Charts: ${charts.map((file) => path.relative(ROOT, file)).join(', ') || 'none (no figures to draw)'}`);
  } catch (error) {
    say(
      `Charts: not drawn (${error instanceof Error ? error.message : String(error)}); ` +
        `retry with node bench/chart.mts ${path.relative(ROOT, path.join(RESULTS_DIR, `${stamp}.json`))}`,
    );
  }
}

/** Which gateway was measured: the commit, and whether its sources differ from it. */
function describeGateway(checkout: Checkout): string {
  const where = checkout.dir === ROOT ? '' : ` in ${checkout.dir}`;
  const git = (args: readonly string[]) => spawnSync('git', args, { cwd: checkout.dir, encoding: 'utf8' });
  const head = git(['rev-parse', '--short', 'HEAD']);
  if (head.status !== 0) return `${checkout.dir} (not a git checkout)`;
  const changed = git(['status', '--porcelain', '--', 'gateway']).stdout.trim() !== '';
  return `${head.stdout.trim()}${changed ? ' with uncommitted changes under gateway/' : ''}${where}`;
}

/** Compiles the gateway and, where the checkout bundles it for its image, bundles it. */
function buildGateway(checkout: Checkout): void {
  const bundles = existsSync(path.join(checkout.dir, 'gateway/bundle.mts'));
  const steps = [
    [path.join(checkout.dir, 'node_modules/typescript/bin/tsc'), '-b', 'gateway'],
    ...(bundles ? [['gateway/bundle.mts']] : []),
  ];
  say(
    `building the gateway (tsc -b gateway${bundles ? ', node gateway/bundle.mts' : ''}${checkout.dir === ROOT ? '' : ` in ${checkout.dir}`})`,
  );
  for (const step of steps) {
    const result = spawnSync(process.execPath, step, { cwd: checkout.dir, stdio: 'inherit' });
    if (result.status !== 0) {
      throw new Error(`the gateway does not build: run \`npm run build\` in ${checkout.dir} to see why`);
    }
  }
}

async function measureColdStart(
  options: BenchOptions,
  checkout: Checkout,
  secrets: Secrets,
): Promise<Results['coldStart']> {
  say(`\ncold start × ${options.coldStartRuns}`);
  const runsMs: number[] = [];
  // Nothing listens there: start-up never contacts the upstream.
  const nowhere = 'http://127.0.0.1:9';
  for (let run = 0; run < options.coldStartRuns; run++) {
    runsMs.push(Math.round(await timeColdStart(checkout, nowhere, secrets)));
    await sleep(200);
  }
  say(`  ${runsMs.join(' ')} ms → median ${median(runsMs)} ms`);
  return { runsMs, medianMs: median(runsMs) };
}

/** One request through every target before measuring, so a broken set-up stops here rather than yielding figures. */
async function checkTargets(targets: readonly Target[], upstream: Upstream): Promise<void> {
  for (const target of targets) {
    await upstream.stats(true);
    const response = await request(`${target.baseUrl}${target.accountPath}`, { headers: { ...target.headers } });
    const { mismatches } = await upstream.stats();
    if (response.status !== 200 || mismatches > 0) {
      throw new Error(`${target.name} does not proxy GET /account: status ${response.status}: ${response.body}`);
    }
  }
}

/**
 * CPU time the proxy spends per request over a run: unlike requests/s, it
 * barely moves when other work on the machine takes CPU away from it.
 */
function cpuMeter(pid: number | undefined): (requests: number) => number | undefined {
  const before = pid === undefined ? undefined : readCpuSeconds(pid);
  return (requests) => {
    const after = pid === undefined ? undefined : readCpuSeconds(pid);
    return before === undefined || after === undefined || requests === 0
      ? undefined
      : ((after - before) * 1e6) / requests;
  };
}

/** Each round visits every target, starting one further along each time, so that no target always runs first. */
function rotate<T>(items: readonly T[], round: number): T[] {
  const shift = round % Math.max(1, items.length);
  return [...items.slice(shift), ...items.slice(0, shift)];
}

async function measureThroughput(
  options: BenchOptions,
  generator: LoadGenerator,
  targets: readonly Target[],
  upstream: Upstream,
): Promise<Results['throughput']> {
  say(`\nthroughput: ${options.connections} connections, ${options.durationS} s × ${options.rounds} rounds`);
  for (const target of targets) {
    say(`  warm-up ${target.name} ${options.warmupS} s`);
    await generator.run(`${target.baseUrl}${target.accountPath}`, target.headers, options.connections, options.warmupS);
  }
  const rounds = new Map<TargetName, ThroughputRound[]>(targets.map((target) => [target.name, []]));
  for (let round = 1; round <= options.rounds; round++) {
    for (const target of rotate(targets, round - 1)) {
      if (target.accessLog) truncateSync(target.accessLog, 0);
      await upstream.stats(true);
      const pid = target.proxyPid();
      const memory = pid === undefined ? undefined : watchMemory(pid);
      const cpu = cpuMeter(pid);
      const run = await generator.run(
        `${target.baseUrl}${target.accountPath}`,
        target.headers,
        options.connections,
        options.durationS,
      );
      const cpuUsPerRequest = cpu(run.requests);
      const window = memory?.stop();
      const stats = await upstream.stats();
      const result: ThroughputRound = {
        round,
        ...run,
        cpuUsPerRequest,
        peakRssMB: window?.peakMB,
        endRssAnonMB: window?.endAnonMB,
        endRssFileMB: window?.endFileMB,
        headerMismatches: stats.mismatches,
        upstreamRequests: stats.requests,
        logBytes: target.accessLog ? statSync(target.accessLog).size : undefined,
      };
      rounds.get(target.name)!.push(result);
      say(
        `  round ${round} ${target.name.padEnd(8)} ${Math.round(run.rps).toString().padStart(6)} req/s  ` +
          `p50 ${run.p50Ms.toFixed(2)} ms  p99 ${run.p99Ms.toFixed(2)} ms  errors ${run.errors}` +
          (cpuUsPerRequest === undefined ? '' : `  CPU ${Math.round(cpuUsPerRequest)} µs/req`) +
          (window ? `  RSS peak ${window.peakMB.toFixed(1)} MB` : ''),
      );
      // Let sockets in TIME_WAIT and the last log writes settle before the next target.
      await sleep(500);
    }
  }
  const summaries: Results['throughput'] = {};
  for (const [name, list] of rounds) {
    const peaks = list.map((item) => item.peakRssMB).filter((item) => item !== undefined);
    const cpu = list.map((item) => item.cpuUsPerRequest).filter((item) => item !== undefined);
    const logged = list.filter((item) => item.logBytes !== undefined);
    const summary: ThroughputSummary = {
      rounds: list,
      rps: median(list.map((item) => item.rps)),
      p50Ms: median(list.map((item) => item.p50Ms)),
      p99Ms: median(list.map((item) => item.p99Ms)),
      errors: list.reduce((sum, item) => sum + item.errors, 0),
      cpuUsPerRequest: cpu.length > 0 ? median(cpu) : undefined,
      peakRssMB: peaks.length > 0 ? Math.max(...peaks) : undefined,
      logBytesPerRequest:
        logged.length > 0
          ? logged.reduce((sum, item) => sum + item.logBytes!, 0) / logged.reduce((sum, item) => sum + item.requests, 0)
          : undefined,
    };
    summaries[name] = summary;
  }
  return summaries;
}

/** Every target at the same fixed rate; the figure that matters is what atlas adds over direct. */
async function measureFixedRate(options: BenchOptions, targets: readonly Target[]): Promise<Results['fixedRate']> {
  say(`\nfixed rate: ${options.rate} req/s, ${options.rateDurationS} s × ${options.rateRounds} rounds`);
  for (const target of targets) {
    await runFixedRate(`${target.baseUrl}${target.accountPath}`, target.headers, options.rate, 2);
  }
  const rounds = new Map<TargetName, FixedRateSummary['rounds'][number][]>(targets.map((target) => [target.name, []]));
  for (let round = 1; round <= options.rateRounds; round++) {
    for (const target of rotate(targets, round - 1)) {
      if (target.accessLog) truncateSync(target.accessLog, 0);
      const pid = target.proxyPid();
      const memory = pid === undefined ? undefined : watchMemory(pid);
      const cpu = cpuMeter(pid);
      const run = await runFixedRate(
        `${target.baseUrl}${target.accountPath}`,
        target.headers,
        options.rate,
        options.rateDurationS,
      );
      const cpuUsPerRequest = cpu(run.sent);
      const window = memory?.stop();
      rounds.get(target.name)!.push({ round, ...run, cpuUsPerRequest, peakRssMB: window?.peakMB });
      say(
        `  round ${round} ${target.name.padEnd(8)} ${Math.round(run.achievedRps)} req/s  p50 ${run.p50Ms.toFixed(2)} ms  ` +
          `p99 ${run.p99Ms.toFixed(2)} ms  max ${run.maxMs.toFixed(1)} ms  errors ${run.errors}`,
      );
      await sleep(500);
    }
  }
  const summaries: Partial<Record<TargetName, FixedRateSummary>> = {};
  for (const [name, list] of rounds) {
    summaries[name] = {
      rounds: list,
      achievedRps: median(list.map((item) => item.achievedRps)),
      p50Ms: median(list.map((item) => item.p50Ms)),
      p99Ms: median(list.map((item) => item.p99Ms)),
      errors: list.reduce((sum, item) => sum + item.errors, 0),
      cpuUsPerRequest: median(list.map((item) => item.cpuUsPerRequest ?? Number.NaN)),
      distribution: LATENCY_PERCENTILES.map((percentile, index) => ({
        percentile,
        ms: median(list.map((item) => item.distribution[index]!.ms)),
      })),
    };
  }
  const { atlas, direct } = summaries;
  return {
    targets: summaries,
    addedP50Ms: atlas && direct ? atlas.p50Ms - direct.p50Ms : undefined,
    addedP99Ms: atlas && direct ? atlas.p99Ms - direct.p99Ms : undefined,
  };
}

async function measureStreaming(options: BenchOptions, targets: readonly Target[]): Promise<Results['streaming']> {
  const bytes = options.streamMiB * 2 ** 20;
  say(`\nstreaming: ${options.streamMiB} MiB each way × ${options.streamRounds} rounds`);
  const results = {
    download: new Map<TargetName, StreamingRound[]>(),
    upload: new Map<TargetName, StreamingRound[]>(),
  };
  // One direction at a time: memory a proxy keeps after one direction would
  // otherwise hide the growth the other one causes.
  for (const direction of ['upload', 'download'] as const) {
    for (let round = 1; round <= options.streamRounds; round++) {
      for (const target of rotate(targets, round - 1)) {
        const pid = target.proxyPid();
        const memory = pid === undefined ? undefined : watchMemory(pid);
        const url = `${target.baseUrl}${target.streamPrefix}/stream/${direction}`;
        const transfer = await (direction === 'download' ? download : upload)(url, target.headers, bytes);
        const window = memory?.stop();
        const list = results[direction].get(target.name) ?? [];
        list.push({
          round,
          transfer,
          startRssMB: window?.startMB,
          peakRssMB: window?.peakMB,
          growthMB: window?.growthMB,
        });
        results[direction].set(target.name, list);
        say(
          `  round ${round} ${target.name.padEnd(8)} ${direction.padEnd(8)} ${transfer.mbps.toFixed(0).padStart(5)} MB/s` +
            (window ? `  RSS ${window.startMB.toFixed(1)} → ${window.peakMB.toFixed(1)} MB` : '') +
            (transfer.error ? `  error: ${transfer.error}` : ''),
        );
        await sleep(300);
      }
    }
  }
  const summarize = (map: Map<TargetName, StreamingRound[]>) => {
    const summaries: Partial<Record<TargetName, StreamingSummary>> = {};
    for (const [name, list] of map) {
      const good = list.filter((item) => item.transfer.error === undefined);
      const growth = list.map((item) => item.growthMB).filter((item) => item !== undefined);
      const peaks = list.map((item) => item.peakRssMB).filter((item) => item !== undefined);
      summaries[name] = {
        rounds: list,
        mbps: median(good.map((item) => item.transfer.mbps)),
        growthMB: growth.length > 0 ? Math.max(...growth) : undefined,
        peakRssMB: peaks.length > 0 ? Math.max(...peaks) : undefined,
        errors: list.length - good.length,
      };
    }
    return summaries;
  };
  return { bytes, download: summarize(results.download), upload: summarize(results.upload) };
}

/**
 * A separate gateway process under the same load with V8's sampling
 * profiler on, after the measurements (profiling slows it down). The
 * .cpuprofile opens as a flame chart in Chrome DevTools (Performance tab).
 */
async function profileAtlas(
  options: BenchOptions,
  checkout: Checkout,
  generator: LoadGenerator,
  workDir: string,
  upstream: Upstream,
  secrets: Secrets,
  stamp: string,
): Promise<Results['profile']> {
  say(`\nprofiling atlas: ${options.profileDurationS} s under ${options.connections} connections`);
  const profileDir = path.join(workDir, 'profile');
  mkdirSync(profileDir, { recursive: true });
  // The unbundled build of the same code, so that each sample's file names its package or module.
  const unbundled = { ...checkout, main: path.join(checkout.dir, 'gateway/dist/main.js') };
  const { target, process: running } = await startAtlas(
    unbundled,
    workDir,
    upstream,
    secrets,
    ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    'atlas-profiled',
  );
  const run = await generator.run(
    `${target.baseUrl}${target.accountPath}`,
    target.headers,
    options.connections,
    options.profileDurationS,
  );
  await running.stop();
  const file = path.join(RESULTS_DIR, `${stamp}-atlas.cpuprofile`);
  copyFileSync(findProfile(profileDir), file);
  const summary = summarizeProfile(file);
  say(`  ${Math.round(run.rps)} req/s while profiled; profile: ${path.relative(ROOT, file)}`);
  return { ...summary, file: path.relative(ROOT, file), rps: run.rps, durationS: options.profileDurationS };
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
