import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
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
}

export function findProfile(dir: string): string {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile was written in ${dir}`);
  return path.join(dir, file);
}

const SPECIAL = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

/** Which package or part of the runtime a frame belongs to. */
function moduleOf(frame: CpuProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (url === '') return SPECIAL.has(functionName) ? functionName : '(native)';
  if (url.startsWith('node:')) return url.startsWith('node:internal/') ? 'node:internal' : url;
  const packages = url.split('/node_modules/');
  if (packages.length > 1) {
    const parts = packages[packages.length - 1]!.split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const gateway = url.indexOf('/gateway/dist/');
  if (gateway !== -1) return `atlas:${url.slice(gateway + '/gateway/dist/'.length)}`;
  return url;
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
    /^(http-proxy-middleware|httpxy|is-plain-obj|micromatch|atlas:proxy\/(create-adapter-proxy|response-timeout)\.js)$/,
  ],
  [
    'routing (express, router)',
    /^(express|router|path-to-regexp|parseurl|finalhandler|on-finished|encodeurl|atlas:app\.js|atlas:proxy\/.*|atlas:http\/context\.js)$/,
  ],
  ['responses and errors', /^atlas:http\/(respond|errors)\.js$/],
  ['gateway (other)', /^atlas:/],
];

function layerOf(modules: readonly string[]): string {
  for (const module of modules) {
    const layer = LAYERS.find(([, pattern]) => pattern.test(module));
    if (layer) return layer[0];
  }
  const leaf = modules[0] ?? '(root)';
  return SPECIAL.has(leaf) ? leaf : 'Node core (http, net, streams, event loop)';
}

function describeFrame(frame: CpuProfileNode['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (frame.url === '') return name;
  const where = frame.url.startsWith('node:') ? frame.url : path.basename(frame.url);
  return `${name} ${where}:${frame.lineNumber + 1} [${moduleOf(frame)}]`;
}

/** Self and inclusive time from a V8 CPU profile, by function and by module. */
export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

  // Each sample lasts until the next one is taken.
  const times: number[] = [];
  let at = profile.startTime;
  const stamps = profile.timeDeltas.map((delta) => (at += delta));
  for (let i = 0; i < stamps.length; i++) times.push(((stamps[i + 1] ?? profile.endTime) - stamps[i]!) / 1000);

  const self = new Map<string, number>();
  const selfModule = new Map<string, number>();
  const inclusiveModule = new Map<string, number>();
  const layers = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);
  let totalMs = 0;
  let idleMs = 0;
  profile.samples.forEach((id, index) => {
    const ms = Math.max(0, times[index] ?? 0);
    const node = byId.get(id);
    if (!node) return;
    totalMs += ms;
    if (node.callFrame.functionName === '(idle)') {
      idleMs += ms;
      return;
    }
    add(self, describeFrame(node.callFrame), ms);
    add(selfModule, moduleOf(node.callFrame), ms);
    const stack: string[] = [];
    for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) {
      const frame = byId.get(current)!.callFrame;
      if (frame.functionName !== '(root)') stack.push(moduleOf(frame));
    }
    for (const module of new Set(stack)) add(inclusiveModule, module, ms);
    add(layers, layerOf(stack), ms);
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
  };
}
