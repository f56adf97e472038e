import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_FLAME_OPTIONS, flameFileFor, writeFlameGraph, type FlameOptions } from './flame-graph.mts';
import { CHART_USAGE } from './options.mts';
import { writeResultCharts, type ChartableResults } from './result-charts.mts';

/** The checkout's root: results name their profile relative to it. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const say = (line: string) => process.stdout.write(`${line}\n`);
/** A path as typed from here when it is under the working directory; absolute otherwise. */
const shortPath = (file: string): string => {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? path.resolve(file) : relative;
};

interface ChartCommand {
  readonly resultsFile: string | undefined;
  readonly outDir: string | undefined;
  readonly profile: string | undefined;
  readonly flameOut: string | undefined;
  readonly flame: FlameOptions;
}

function readCommand(argv: readonly string[]): ChartCommand | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      'out-dir': { type: 'string' },
      profile: { type: 'string' },
      'flame-out': { type: 'string' },
      'min-frame-percent': { type: 'string' },
      'max-depth': { type: 'string' },
      'exclude-program': { type: 'boolean' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 1) throw new Error(`one results file at most; got ${positionals.join(', ')}`);
  const resultsFile = positionals[0];
  if (resultsFile === undefined && values.profile === undefined) {
    throw new Error('give a results file, a --profile, or both');
  }
  const number = (flag: string, raw: string | undefined, fallback: number, least: number): number => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value < least) {
      throw new Error(`--${flag} must be a number of at least ${least}, such as ${fallback}; got "${raw}"`);
    }
    return value;
  };
  return {
    resultsFile,
    outDir: values['out-dir'],
    profile: values.profile,
    flameOut: values['flame-out'],
    flame: {
      minFramePercent: number(
        'min-frame-percent',
        values['min-frame-percent'],
        DEFAULT_FLAME_OPTIONS.minFramePercent,
        0,
      ),
      maxDepth: Math.floor(number('max-depth', values['max-depth'], DEFAULT_FLAME_OPTIONS.maxDepth, 1)),
      excludeProgram: values['exclude-program'] === true,
    },
  };
}

/**
 * Draws, from files alone, the charts `npm run bench` draws at the end of a
 * run: so that the pictures committed in bench/charts/ can be remade from
 * the results they came from, and so that any .cpuprofile (another run's,
 * or one taken of the bundled gateway by hand) can be seen as a flame graph.
 */
async function main(): Promise<void> {
  const command = readCommand(process.argv.slice(2));
  if (command === 'help') {
    say(CHART_USAGE);
    return;
  }
  const { resultsFile, outDir, flameOut } = command;
  if (outDir !== undefined) mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  let profile = command.profile;
  if (resultsFile !== undefined) {
    const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as ChartableResults & {
      readonly profile?: { readonly file?: string } | null;
    };
    const dir = outDir ?? path.dirname(resultsFile);
    const prefix = outDir === undefined ? `${path.basename(resultsFile, '.json')}-` : '';
    written.push(...(await writeResultCharts(results, dir, prefix)));
    // Beside the results, remake everything the run drew, its flame graph too.
    const own = results.profile?.file ? path.resolve(ROOT, results.profile.file) : undefined;
    if (profile === undefined && outDir === undefined && own !== undefined && existsSync(own)) profile = own;
  }
  if (profile !== undefined) {
    const file = flameOut ?? flameFileFor(profile, outDir);
    mkdirSync(path.dirname(file), { recursive: true });
    const graph = await writeFlameGraph(profile, file, command.flame);
    written.push(file);
    say(
      `${path.basename(profile)}: ${Math.round(graph.busyMs)} ms busy, ${graph.frames.length} frames drawn, ` +
        `${graph.droppedFrames + graph.cutFrames} left out`,
    );
  }
  if (written.length === 0) say('nothing to draw: the results hold neither throughput nor fixed-rate figures');
  for (const file of written) say(`wrote ${shortPath(file)}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`chart: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
