import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BundleSources } from './bundle-sources.mts';

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  /** 0-based line and column where the function starts. */
  readonly lineNumber: number;
  readonly columnNumber?: number;
}

export interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileEntry {
  readonly name: string;
  readonly ms: number;
  /** Share of the time the process was busy (not idle). */
  readonly percent: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  readonly busyMs: number;
  readonly topFunctions: readonly ProfileEntry[];
  readonly selfByModule: readonly ProfileEntry[];
  /** Time with the module anywhere on the stack: what a call into it costs, callees included. */
  readonly inclusiveByModule: readonly ProfileEntry[];
  /** Each sample charged to the innermost frame on its stack that belongs to a part of the gateway. */
  readonly byLayer: readonly ProfileEntry[];
  /** Each sample charged to the part its own frame belongs to: the time spent in each part's own code. */
  readonly selfByLayer?: readonly ProfileEntry[];
}

export function findProfile(dir: string): string {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile was written in ${dir}`);
  return path.join(dir, file);
}

export function readCpuProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

/** How long each sample stands for, in ms: until the next one was taken (the last one, until the profile ends). */
function sampleDurationsMs(profile: CpuProfile): number[] {
  let at = profile.startTime;
  const stamps = profile.timeDeltas.map((delta) => (at += delta));
  return stamps.map((stamp, i) => Math.max(0, ((stamps[i + 1] ?? profile.endTime) - stamp) / 1000));
}

/**
 * Calls `visit` with the node of every busy sample (not `(idle)`) and the
 * time it stands for; returns the profile's total and idle time, in ms.
 */
export function walkSamples(
  profile: CpuProfile,
  visit: (node: CpuProfileNode, ms: number) => void,
): { totalMs: number; idleMs: number } {
  const durations = sampleDurationsMs(profile);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  let totalMs = 0;
  let idleMs = 0;
  profile.samples.forEach((id, index) => {
    const ms = durations[index] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    totalMs += ms;
    if (node.callFrame.functionName === '(idle)') idleMs += ms;
    else visit(node, ms);
  });
  return { totalMs, idleMs };
}

const SPECIAL = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

/**
 * Which package or part of the runtime a frame belongs to. Frames of an
 * esbuild bundle (gateway/bundle/serve.js) are traced back to the file each
 * came from through `sources`, so that a bundled gateway's profile splits
 * into the same modules as the unbundled build's.
 */
export function moduleOf(frame: CallFrame, sources?: BundleSources): string {
  const { url, functionName } = frame;
  if (url === '') return SPECIAL.has(functionName) ? functionName : '(native)';
  if (url.startsWith('node:')) return url.startsWith('node:internal/') ? 'node:internal' : url;
  const fromPath = moduleOfPath(url);
  if (fromPath !== undefined) return fromPath;
  const source = sources?.sourceOf(url, frame.lineNumber);
  if (source === undefined) return url;
  return moduleOfPath(source) ?? moduleOfPath(source.replace(/^(\.\.\/)*src\//, '/gateway/dist/')) ?? source;
}

/** A package by its name, the gateway's compiled files as `atlas:<file>.js`; undefined for anything else. */
function moduleOfPath(file: string): string | undefined {
  const packages = file.split(/(?:^|\/)node_modules\//);
  if (packages.length > 1) {
    const parts = packages[packages.length - 1]!.split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const gateway = file.indexOf('/gateway/dist/');
  if (gateway !== -1) return `atlas:${file.slice(gateway + '/gateway/dist/'.length).replace(/\.ts$/, '.js')}`;
  return undefined;
}

/**
 * The parts of a request's path through the gateway. A sample goes to the
 * innermost of them on its stack, so Node's HTTP work done on behalf of,
 * say, the proxy engine counts as the proxy engine's; what runs straight
 * from the event loop (socket reads, writes of piped bodies) is Node's.
 */
const LAYERS: readonly (readonly [string, RegExp])[] = [
  [
    'request logging',
    /^(pino|@pinojs\/.*|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|safe-stable-stringify|atlas:http\/log-requests\.js|atlas:logger\.js)$/,
  ],
  ['caller authentication', /^(jose|atlas:auth\/.*)$/],
  ['header rewriting', /^atlas:(proxy\/forward-headers|http\/hop-by-hop)\.js$/],
  [
    'proxy engine (http-proxy-middleware, httpxy)',
    /^(http-proxy-middleware|httpxy|is-plain-obj|is-glob|micromatch|debug)$/,
  ],
  [
    'Express (express, router)',
    /^(express|router|path-to-regexp|parseurl|finalhandler|on-finished|encodeurl|body-parser|send|serve-static)$/,
  ],
  ['responses and errors', /^atlas:http\/(respond|errors)\.js$/],
  ['gateway (dispatch, checks, relay, metrics)', /^atlas:/],
];

const NODE_CORE = 'Node core (http, net, streams, event loop)';

/** Every part `layerOf` can name, in the order reports and charts list them. */
export const PARTS: readonly string[] = [
  ...LAYERS.map(([name]) => name),
  NODE_CORE,
  '(garbage collector)',
  '(program)',
  '(root)',
];

/** The part of the request path a sample belongs to, from the modules on its stack, innermost first. */
export function layerOf(modules: readonly string[]): string {
  for (const module of modules) {
    const layer = LAYERS.find(([, pattern]) => pattern.test(module));
    if (layer) return layer[0];
  }
  const leaf = modules[0] ?? '(root)';
  return SPECIAL.has(leaf) ? leaf : NODE_CORE;
}

export function describeFrame(frame: CallFrame, sources?: BundleSources): string {
  const name = frame.functionName || '(anonymous)';
  if (frame.url === '') return name;
  const where = frame.url.startsWith('node:') ? frame.url : path.basename(frame.url);
  return `${name} ${where}:${frame.lineNumber + 1} [${moduleOf(frame, sources)}]`;
}

/** Self and inclusive time from a V8 CPU profile, by function and by module. */
export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = readCpuProfile(file);
  const sources = new BundleSources();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

  const self = new Map<string, number>();
  const selfModule = new Map<string, number>();
  const inclusiveModule = new Map<string, number>();
  const layers = new Map<string, number>();
  const selfLayers = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);
  const { totalMs, idleMs } = walkSamples(profile, (node, ms) => {
    add(self, describeFrame(node.callFrame, sources), ms);
    add(selfModule, moduleOf(node.callFrame, sources), ms);
    const stack: string[] = [];
    for (let current: number | undefined = node.id; current !== undefined; current = parentOf.get(current)) {
      const frame = byId.get(current)!.callFrame;
      if (frame.functionName !== '(root)') stack.push(moduleOf(frame, sources));
    }
    for (const module of new Set(stack)) add(inclusiveModule, module, ms);
    add(layers, layerOf(stack), ms);
    add(selfLayers, layerOf(stack.slice(0, 1)), ms);
  });

  const busyMs = totalMs - idleMs;
  const rank = (map: Map<string, number>): ProfileEntry[] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), percent: Math.round((1000 * ms) / busyMs) / 10 }));
  return {
    file,
    totalMs: Math.round(totalMs),
    busyMs: Math.round(busyMs),
    topFunctions: rank(self),
    selfByModule: rank(selfModule),
    inclusiveByModule: rank(inclusiveModule),
    byLayer: rank(layers),
    selfByLayer: rank(selfLayers),
  };
}
