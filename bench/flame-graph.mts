import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { BundleSources } from './bundle-sources.mts';
import {
  describeFrame,
  layerOf,
  moduleOf,
  PARTS,
  readCpuProfile,
  walkSamples,
  type CallFrame,
  type CpuProfileNode,
} from './profile.mts';
import { writeSvg, type ChartEncoding } from './svg.mts';
import { helveticaWidth } from './text-width.mts';

export interface FlameOptions {
  /**
   * Frames with less than this share of the busy time on their stack are
   * left out, with everything they called: they would be slivers under a
   * pixel wide, and thousands of them would make the SVG megabytes.
   */
  readonly minFramePercent: number;
  /**
   * Rows drawn: deeper frames are cut (their time still shows in the frames
   * below them). Module loading at start-up nests `require` calls some 90
   * frames deep, while a request's path through the gateway stays under 20;
   * uncut, that one narrow tower would make the picture five times as tall.
   */
  readonly maxDepth: number;
  /** Leave out `(program)`: time V8 could not attribute to any JavaScript (parsing, compiling, the runtime). */
  readonly excludeProgram: boolean;
}

export const DEFAULT_FLAME_OPTIONS: FlameOptions = { minFramePercent: 0.2, maxDepth: 32, excludeProgram: false };

export interface FlameFrame {
  readonly name: string;
  /** Function, file, line and module, for the frame's aria-label (and any reader of the SVG). */
  readonly description: string;
  /** The part of the request path the frame counts for, as bench/profile.mts charges samples. */
  readonly part: string;
  /** 0 for the frames the event loop (or V8) called; a callee is one deeper than its caller. */
  readonly depth: number;
  readonly startMs: number;
  /** Time with the frame on the stack, its callees included. */
  readonly ms: number;
  readonly selfMs: number;
}

export interface PartShare {
  readonly part: string;
  readonly ms: number;
  readonly percent: number;
}

export interface FlameGraph {
  readonly file: string;
  readonly totalMs: number;
  /** Time not idle, as in the benchmark's profile summary. */
  readonly busyMs: number;
  /** Busy time drawn: busyMs less `(program)` when that is left out. */
  readonly drawnMs: number;
  /** Drawn frames, callers before their callees. */
  readonly frames: readonly FlameFrame[];
  /** Frames left out for being narrower than `minFrameMs`, callees included. */
  readonly droppedFrames: number;
  /** Frames wide enough to draw but deeper than `options.maxDepth`. */
  readonly cutFrames: number;
  readonly minFrameMs: number;
  /** Self time by part over every frame, drawn or not: the same split as the profile summary's byLayer. */
  readonly parts: readonly PartShare[];
  readonly options: FlameOptions;
}

/** A node of the call tree with the callees that share a function merged, as a flame graph draws them. */
interface CallNode {
  readonly frame: CallFrame;
  readonly part: string;
  selfMs: number;
  ms: number;
  readonly children: Map<string, CallNode>;
}

const frameKey = (frame: CallFrame): string =>
  `${frame.functionName}\n${frame.url}\n${frame.lineNumber}\n${frame.columnNumber ?? -1}`;

/** Lays out a V8 .cpuprofile as a flame graph: each frame as wide as the time it was on the stack. */
export function buildFlameGraph(file: string, options: FlameOptions = DEFAULT_FLAME_OPTIONS): FlameGraph {
  const profile = readCpuProfile(file);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfById = new Map<number, number>();
  const { totalMs, idleMs } = walkSamples(profile, (node, ms) =>
    selfById.set(node.id, (selfById.get(node.id) ?? 0) + ms),
  );

  const sources = new BundleSources();
  const rootNode = profile.nodes.find((node) => node.callFrame.functionName === '(root)') ?? profile.nodes[0]!;
  const root: CallNode = { frame: rootNode.callFrame, part: '(root)', selfMs: 0, ms: 0, children: new Map() };
  const leftOut = (frame: CallFrame) =>
    frame.functionName === '(idle)' || (options.excludeProgram && frame.functionName === '(program)');
  // Recursion is safe: V8 records at most 255 frames of a stack.
  const visit = (node: CpuProfileNode, parent: CallNode, callerModules: readonly string[]) => {
    if (leftOut(node.callFrame)) return;
    const modules = [moduleOf(node.callFrame, sources), ...callerModules];
    const key = frameKey(node.callFrame);
    let merged = parent.children.get(key);
    if (!merged) {
      merged = { frame: node.callFrame, part: layerOf(modules), selfMs: 0, ms: 0, children: new Map() };
      parent.children.set(key, merged);
    }
    merged.selfMs += selfById.get(node.id) ?? 0;
    for (const id of node.children ?? []) {
      const child = byId.get(id);
      if (child) visit(child, merged, modules);
    }
  };
  for (const id of rootNode.children ?? []) {
    const child = byId.get(id);
    if (child) visit(child, root, []);
  }

  const partMs = new Map<string, number>();
  const total = (node: CallNode): number => {
    partMs.set(node.part, (partMs.get(node.part) ?? 0) + node.selfMs);
    node.ms = node.selfMs + [...node.children.values()].reduce((sum, child) => sum + total(child), 0);
    return node.ms;
  };
  const drawnMs = total(root);
  const busyMs = totalMs - idleMs;
  const minFrameMs = (options.minFramePercent / 100) * busyMs;

  const frames: FlameFrame[] = [];
  let droppedFrames = 0;
  let cutFrames = 0;
  const count = (node: CallNode): number =>
    1 + [...node.children.values()].reduce((sum, child) => sum + count(child), 0);
  const place = (node: CallNode, depth: number, startMs: number) => {
    let at = startMs;
    // Widest first, so that what costs most lines up on the left at every level.
    const children = [...node.children.values()].sort(
      (a, b) => b.ms - a.ms || a.frame.functionName.localeCompare(b.frame.functionName),
    );
    for (const child of children) {
      if (child.ms < minFrameMs || child.ms <= 0) {
        droppedFrames += count(child);
        continue;
      }
      if (depth >= options.maxDepth) {
        cutFrames += count(child);
        continue;
      }
      frames.push({
        name: child.frame.functionName || '(anonymous)',
        description: describeFrame(child.frame, sources),
        part: child.part,
        depth,
        startMs: at,
        ms: child.ms,
        selfMs: child.selfMs,
      });
      place(child, depth + 1, at);
      at += child.ms;
    }
  };
  place(root, 0, 0);

  const parts = PARTS.filter((part) => (partMs.get(part) ?? 0) > 0).map((part) => ({
    part,
    ms: partMs.get(part)!,
    percent: (100 * partMs.get(part)!) / busyMs,
  }));
  return { file, totalMs, busyMs, drawnMs, frames, droppedFrames, cutFrames, minFrameMs, parts, options };
}

/**
 * One colour per part, in the order of PARTS (bench/profile.mts): light
 * enough for black labels, and the same in every flame graph, so that a
 * before and an after picture compare at a glance.
 */
const PART_COLORS = [
  '#f4a582', // request logging
  '#fddc84', // caller authentication
  '#d4b9f0', // header rewriting
  '#8fd19e', // proxy engine
  '#92c5de', // routing
  '#f7b6d2', // responses and errors
  '#ffcf99', // gateway (other)
  '#d0d0d0', // Node core
  '#c9a99b', // (garbage collector)
  '#e6e69c', // (program)
  '#f0f0f0', // (root)
];
const colorOf = (part: string): string => PART_COLORS[PARTS.indexOf(part)] ?? '#bbbbbb';

const WIDTH = 960;
const ROW_PX = 16;
const FONT_PX = 10;
/** Room a label leaves: its offset from the frame's left edge, and a margin for fallback fonts that run wider. */
const LABEL_PAD_PX = 6;
const FALLBACK_FONT_SPARE = 1.15;
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** The function's name, cut to what fits in a frame `px` wide; empty when not even a few letters fit. */
function fitLabel(name: string, px: number): string {
  const fits = (text: string) => helveticaWidth(text, FONT_PX) * FALLBACK_FONT_SPARE <= px - LABEL_PAD_PX;
  if (fits(name)) return name;
  let length = name.length - 1;
  while (length >= 3 && !fits(`${name.slice(0, length)}…`)) length--;
  return length >= 3 ? `${name.slice(0, length)}…` : '';
}

export function flameGraphSpec(graph: FlameGraph): TopLevelSpec {
  const pxPerMs = WIDTH / Math.max(graph.drawnMs, 1e-9);
  const shareOf = new Map(graph.parts.map((share) => [share.part, share.percent]));
  // The legend names every part with its share of the busy time, so that the picture carries the summary's figures.
  const partLabel = (part: string) => `${part} · ${(shareOf.get(part) ?? 0).toFixed(1)}%`;
  const partsShown = graph.parts.map((share) => share.part);
  const rows = Math.max(1, ...graph.frames.map((frame) => frame.depth + 1));
  const values = graph.frames.map((frame) => ({
    start: frame.startMs,
    end: frame.startMs + frame.ms,
    depth: frame.depth,
    top: frame.depth + 1,
    middle: frame.depth + 0.5,
    part: partLabel(frame.part),
    label: fitLabel(frame.name, frame.ms * pxPerMs),
    description:
      `${frame.description}: ${frame.ms.toFixed(1)} ms on the stack (${((100 * frame.ms) / graph.busyMs).toFixed(1)}%), ` +
      `${frame.selfMs.toFixed(1)} ms self; ${frame.part}`,
  }));
  const { minFramePercent, maxDepth, excludeProgram } = graph.options;
  const leftOut = [
    `left out: frames under ${minFramePercent}% of busy time (${graph.minFrameMs.toFixed(1)} ms)`,
    ...(graph.cutFrames > 0 ? [`frames over ${maxDepth} deep`] : []),
    '(idle)',
    ...(excludeProgram ? ['(program)'] : []),
  ].join(', ');
  const x = (field: string, axis: boolean): ChartEncoding['x'] => ({
    field,
    type: 'quantitative',
    scale: { domain: [0, graph.drawnMs], nice: false, zero: true },
    ...(axis ? { title: 'ms of busy time', axis: { grid: false, format: ',d' } } : {}),
  });
  const y = (field: string): ChartEncoding['y'] => ({
    field,
    type: 'quantitative',
    scale: { domain: [0, rows] },
    axis: null,
  });
  return {
    title: {
      text: `CPU flame graph of ${path.basename(graph.file)}: ${integer.format(graph.busyMs)} ms busy of ${integer.format(graph.totalMs)} ms`,
      subtitle: [
        'width: time with the function on the stack · above a frame: what it called, widest first',
        'colour: the part of the request path a frame counts for (as in the benchmark report)',
        leftOut,
      ],
    },
    width: WIDTH,
    height: rows * ROW_PX,
    data: { values },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5 },
        encoding: {
          x: x('start', true),
          x2: { field: 'end' },
          y: y('depth'),
          y2: { field: 'top' },
          color: {
            field: 'part',
            type: 'nominal',
            title:
              'part of the request path · share of busy time (each sample charged to the innermost part on its stack)',
            scale: { domain: partsShown.map(partLabel), range: partsShown.map(colorOf) },
            legend: {
              orient: 'bottom',
              direction: 'vertical',
              columns: 2,
              columnPadding: 40,
              labelLimit: 0,
              titleLimit: 0,
              symbolType: 'square',
            },
          },
          description: { field: 'description' },
        },
      },
      {
        transform: [{ filter: "datum.label !== ''" }],
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 3, fontSize: FONT_PX, color: '#111' },
        encoding: {
          x: x('start', false),
          y: y('middle'),
          text: { field: 'label' },
        },
      },
    ],
  };
}

export async function writeFlameGraph(
  profileFile: string,
  svgFile: string,
  options: FlameOptions = DEFAULT_FLAME_OPTIONS,
): Promise<FlameGraph> {
  const graph = buildFlameGraph(profileFile, options);
  await writeSvg(svgFile, flameGraphSpec(graph));
  return graph;
}

/** Where a profile's flame graph goes by default: `<dir>/<profile name>-flame.svg`, beside the profile unless `dir` is given. */
export function flameFileFor(profileFile: string, dir = path.dirname(profileFile)): string {
  return path.join(dir, `${path.basename(profileFile, '.cpuprofile')}-flame.svg`);
}
