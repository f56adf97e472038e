import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { profileBundled, profileUnbundled } from './profiles';
import { RESULTS } from './results-fixture';
import { ariaLabel, rectWidth, SvgDocument } from './svg-document';

/**
 * bench/chart.mts draws with vega, which ships as ES modules only; jest's
 * module registry loads CommonJS, so the charts are drawn as a person would
 * draw them, by running the script, and the SVG it writes is read back.
 */
const ROOT = path.resolve(__dirname, '../..');
const PLOT_WIDTH = 960;
const ATLAS_COLOR = '#d94801';
const PROXY_ENGINE = 'proxy engine (http-proxy-middleware, httpxy)';
const ROUTING = 'Express (express, router)';
const GATEWAY = 'gateway (dispatch, checks, relay, metrics)';
const LOGGING = 'request logging';

let dir: string;

function chart(...args: string[]): string {
  const result = spawnSync(process.execPath, ['bench/chart.mts', ...args], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`bench/chart.mts ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

const read = (file: string) => new SvgDocument(readFileSync(path.join(dir, file), 'utf8'));

/** The legend's colour for a part, whatever its share of the busy time (which the label also gives). */
function colorOfPart(svg: SvgDocument, part: string): string {
  const entry = [...svg.legend()].find(([label]) => label.startsWith(`${part} · `));
  if (!entry) throw new Error(`no legend entry for ${part}: ${[...svg.legend().keys()].join(' | ')}`);
  return entry[1];
}

/** The frame drawn for a function: its rect, found by the description Vega puts in its aria-label. */
function frameOf(svg: SvgDocument, functionName: string) {
  return svg.marks('rect').find((rect) => ariaLabel(rect).startsWith(`${functionName} `));
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-charts-'));
  writeFileSync(path.join(dir, 'results.json'), JSON.stringify(RESULTS, null, 2));
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('charts of a results file', () => {
  beforeAll(() => {
    chart(path.join(dir, 'results.json'), '--out-dir', path.join(dir, 'charts'));
  }, 60_000);

  test('throughput: req/s and proxy CPU per request for every target, in the benchmark order, atlas highlighted', () => {
    const svg = read('charts/throughput.svg');
    const texts = svg.texts();
    expect(texts).toEqual(
      expect.arrayContaining([
        '22,803 req/s',
        '15,035 req/s',
        '3,212 req/s',
        '2,265 req/s',
        '47 µs',
        '311 µs',
        '433 µs',
      ]),
    );
    expect(texts).toContain('no proxy');
    expect(svg.titles()).toEqual(
      expect.arrayContaining([
        'Throughput: 32 connections, 15 s per round',
        'requests/s (higher is better)',
        'proxy CPU per request (lower is better)',
      ]),
    );
    expect(svg.subtitle()).toContain('gateway abc1234');

    // Bars: one per target in each of the two panels, atlas's in its own colour.
    const bars = svg.marks('rect');
    expect(bars).toHaveLength(7);
    const atlasBars = bars.filter((bar) => ariaLabel(bar).includes('target: atlas'));
    expect(atlasBars.map((bar) => bar.getAttribute('fill'))).toEqual([ATLAS_COLOR, ATLAS_COLOR]);
    expect(bars.filter((bar) => bar.getAttribute('fill') === ATLAS_COLOR)).toHaveLength(2);

    // The fixture lists atlas first; the chart goes top to bottom as the benchmark does.
    const rowOf = (target: string) => {
      const bar = bars.find((item) => ariaLabel(item).includes(`target: ${target}`))!;
      return Number(/M[-\d.e]+,([-\d.e]+)/.exec(bar.getAttribute('d')!)![1]);
    };
    const rows = ['direct', 'nginx', 'baseline', 'atlas'].map(rowOf);
    expect([...rows].sort((a, b) => a - b)).toEqual(rows);
  });

  test('latency: the distribution of every target, percentiles up to the slowest request', () => {
    const svg = read('charts/latency.svg');
    const texts = svg.texts();
    expect(texts).toEqual(expect.arrayContaining(['direct', 'nginx', 'baseline', 'atlas']));
    expect(texts).toEqual(expect.arrayContaining(['p50', 'p75', 'p90', 'p99', 'p99.9', 'max']));
    // Atlas's own figures are written by its points.
    expect(texts).toEqual(expect.arrayContaining(['1.87', '7.77', '31.4']));
    expect(svg.subtitle()).toContain('atlas adds +1.26 ms at p50, +5.87 ms at p99 over direct');

    // One line per target, baseline's from the p50/p90/p99/max its rounds had before distributions were recorded.
    expect(svg.marks('line')).toHaveLength(4);
    const points = svg.marks('symbol').map(ariaLabel);
    expect(points.filter((label) => label.startsWith('atlas '))).toHaveLength(7);
    expect(points).toContain('atlas max: 31.4 ms');
    expect(points.filter((label) => label.startsWith('baseline '))).toHaveLength(4);
    expect(points).toContain('baseline p90: 2.2 ms');
  });

  test('beside the results file by default, named after it', () => {
    const output = chart(path.join(dir, 'results.json'));
    expect(output).toContain('results-throughput.svg');
    expect(output).toContain('results-latency.svg');
    expect(read('results-latency.svg').texts()).toContain('p99.9');
  }, 60_000);
});

describe('flame graph of a .cpuprofile', () => {
  beforeAll(() => {
    const unbundled = profileUnbundled(dir);
    chart('--profile', unbundled, '--flame-out', path.join(dir, 'flame.svg'));
    chart('--profile', unbundled, '--flame-out', path.join(dir, 'flame-all.svg'), '--min-frame-percent', '0');
    chart('--profile', unbundled, '--flame-out', path.join(dir, 'flame-5.svg'), '--min-frame-percent', '5');
    chart('--profile', profileBundled(dir), '--flame-out', path.join(dir, 'flame-bundled.svg'));
  }, 120_000);

  test('a rect per frame, coloured by the part of the request path it counts for, with a legend of the parts', () => {
    const svg = read('flame.svg');
    const [title] = svg.titles();
    expect(title).toMatch(/^CPU flame graph of unbundled\.cpuprofile: [\d,]+ ms busy of [\d,]+ ms$/);
    const [busy, total] = title!.match(/[\d,]+(?= ms)/g)!.map((figure) => Number(figure.replace(/,/g, '')));
    expect(busy).toBeGreaterThan(0);
    expect(busy).toBeLessThanOrEqual(total!);

    const legend = [...svg.legend().keys()];
    for (const part of [PROXY_ENGINE, ROUTING, LOGGING]) {
      expect(legend.some((label) => new RegExp(`^${part.replace(/[()]/g, '\\$&')} · \\d+\\.\\d%$`).test(label))).toBe(
        true,
      );
    }
    expect(legend).not.toContainEqual(expect.stringMatching(/^\(idle\)/));

    for (const [name, part, module] of [
      ['proxyEngineSpin', PROXY_ENGINE, 'http-proxy-middleware'],
      ['routerSpin', ROUTING, 'express'],
      ['logSpin', LOGGING, 'atlas:http/log-requests.js'],
    ] as const) {
      const frame = frameOf(svg, name);
      expect(frame).toBeDefined();
      expect(ariaLabel(frame!)).toContain(`[${module}]`);
      expect(ariaLabel(frame!)).toMatch(new RegExp(`; ${part.replace(/[()]/g, '\\$&')}$`));
      expect(frame!.getAttribute('fill')).toBe(colorOfPart(svg, part));
    }
    // Wide frames carry their function's name.
    expect(svg.texts()).toContain('proxyEngineSpin');
    expect(statSync(path.join(dir, 'flame.svg')).size).toBeLessThan(1_000_000);
  });

  test('frames narrower than the threshold are left out, with their callees', () => {
    const all = read('flame-all.svg');
    const coarse = read('flame-5.svg');
    // tinyWork has about 1% of the time: drawn with no threshold, left out at 5%.
    expect(frameOf(all, 'tinyWork')).toBeDefined();
    expect(frameOf(coarse, 'tinyWork')).toBeUndefined();
    expect(frameOf(coarse, 'proxyEngineSpin')).toBeDefined();
    expect(coarse.marks('rect').length).toBeLessThan(all.marks('rect').length);
    expect(coarse.subtitle()).toContain('left out: frames under 5% of busy time');

    for (const [svg, percent] of [
      [coarse, 5],
      [read('flame.svg'), 0.2],
    ] as const) {
      const narrowest = Math.min(...svg.marks('rect').map(rectWidth));
      expect(narrowest).toBeGreaterThanOrEqual((percent / 100) * PLOT_WIDTH - 0.01);
    }
  });

  test('a bundled script: frames traced to the packages and gateway files the bundle was made of', () => {
    const svg = read('flame-bundled.svg');
    for (const [name, part, module] of [
      ['proxyRequest', GATEWAY, 'atlas:proxy/create-adapter-proxy.js'],
      ['routerHandle', ROUTING, 'express'],
      ['asJson', LOGGING, 'pino'],
    ] as const) {
      const frame = frameOf(svg, name);
      expect(frame).toBeDefined();
      expect(ariaLabel(frame!)).toContain(`serve.js:`);
      expect(ariaLabel(frame!)).toContain(`[${module}]`);
      expect(frame!.getAttribute('fill')).toBe(colorOfPart(svg, part));
    }
  });
});

test('refuses to run with nothing to draw', () => {
  const result = spawnSync(process.execPath, ['bench/chart.mts'], { cwd: ROOT, encoding: 'utf8' });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('give a results file, a --profile, or both');
});
