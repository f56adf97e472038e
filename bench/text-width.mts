/**
 * Helvetica's advance widths (as its metrics file gives them, in
 * thousandths of an em) for the printable ASCII characters, space to tilde.
 * Arial shares them.
 */
const ASCII_WIDTHS = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556,
  556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833,
  722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556,
  556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334,
  260, 334, 584,
];
const OTHER_WIDTHS: Readonly<Record<string, number>> = { µ: 556, '·': 278, '×': 584, '−': 584, '–': 556, '…': 1000 };
const DEFAULT_WIDTH = 556;
/** Bold Helvetica runs about this much wider. */
const BOLD = 1.08;
/**
 * Where neither Helvetica nor Arial is installed, the browser draws a
 * fallback such as DejaVu Sans, which runs wider still: layouts keep this
 * much to spare for it.
 */
const FALLBACK_SPARE = 1.1;

/** A text's width in px when set in Helvetica or Arial: what a browser will draw, to within a few per cent. */
export function helveticaWidth(text: string, fontSize: number, bold = false): number {
  let units = 0;
  for (const char of text) {
    const code = char.charCodeAt(0);
    units += (code >= 32 && code <= 126 ? ASCII_WIDTHS[code - 32] : OTHER_WIDTHS[char]) ?? DEFAULT_WIDTH;
  }
  return (units / 1000) * fontSize * (bold ? BOLD : 1);
}

/** The part of a Vega scene item that sizes its text. */
interface TextItem {
  readonly fontSize?: number | string;
  readonly fontWeight?: number | string;
  readonly limit?: number;
}

/**
 * A replacement for Vega's text measurement. Headless, Vega measures text
 * with node-canvas when that is installed and otherwise guesses 0.8 em per
 * character, which for proportional fonts is far too wide: titles then
 * push the SVG wider than its chart, and labels get cut short. Vega lets a
 * user-defined `textMetrics.width` take over, as vl-convert does.
 */
export function measureTextItem(item: TextItem, text: unknown): number {
  const size = item.fontSize !== undefined && item.fontSize !== null ? Number(item.fontSize) || 0 : 11;
  const bold = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600;
  const width =
    helveticaWidth(text === undefined || text === null ? '' : String(text).trim(), size, bold) * FALLBACK_SPARE;
  // Vega truncates a text to its limit: it is never wider than that.
  return item.limit !== undefined && item.limit > 0 ? Math.min(width, item.limit) : width;
}
