import { writeFileSync } from 'node:fs';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { measureTextItem } from './text-width.mts';

/** The encoding of one view (a unit spec: one mark) as Vega-Lite types it. */
export type ChartEncoding = NonNullable<Extract<TopLevelSpec, { mark: unknown }>['encoding']>;

/**
 * Settings every chart shares, so that the pictures in the docs read as one
 * set: one font and sizes that stay legible when a Markdown page scales a
 * picture down to its column.
 */
const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  title: { fontSize: 15, subtitleFontSize: 12, subtitleColor: '#555', anchor: 'start', offset: 10 },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' },
  view: { stroke: null },
} as const satisfies TopLevelSpec['config'];

/** Vega exports its text measurement (from vega-scenegraph) without typing it. */
const { textMetrics } = vega as unknown as { textMetrics?: { width: typeof measureTextItem } };
if (!textMetrics) throw new Error('this version of vega has no textMetrics to measure text with');
textMetrics.width = measureTextItem;

/**
 * Renders a Vega-Lite chart to an SVG document, headless: Vega lays it out
 * with no renderer attached (`renderer: 'none'`) and writes the scene as SVG.
 * Any warning Vega-Lite raises (a scale that cannot show the data, an
 * encoding it ignored) fails the render: a chart that silently drops data
 * would be worse than none.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const warnings: string[] = [];
  const logger = vega.logger(vega.Warn);
  logger.warn = (...args: readonly unknown[]) => {
    warnings.push(args.map(String).join(' '));
    return logger;
  };
  const compiled = compile({ ...spec, config: { ...CONFIG, ...spec.config } }, { logger });
  if (warnings.length > 0) throw new Error(`the chart spec is not right: ${warnings.join('; ')}`);
  const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none', logger });
  try {
    const svg = await view.toSVG();
    if (warnings.length > 0) throw new Error(`the chart did not render cleanly: ${warnings.join('; ')}`);
    return `${svg}\n`;
  } finally {
    view.finalize();
  }
}

export async function writeSvg(file: string, spec: TopLevelSpec): Promise<void> {
  writeFileSync(file, await renderSvg(spec));
}
