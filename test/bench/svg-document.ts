import { DOMParser, type Element } from '@xmldom/xmldom';

/** An SVG that Vega wrote, read back as XML: the marks it drew, found by Vega's class names. */
export class SvgDocument {
  private readonly root: Element;

  constructor(readonly source: string) {
    const document = new DOMParser({
      onError: (level, message) => {
        throw new Error(`not well-formed SVG (${level}): ${message}`);
      },
    }).parseFromString(source, 'image/svg+xml');
    this.root = document.documentElement!;
    if (this.root.tagName !== 'svg') throw new Error(`the document is a <${this.root.tagName}>, not an <svg>`);
  }

  get width(): number {
    return Number(this.root.getAttribute('width'));
  }

  /** Every text drawn, in document order. */
  texts(): string[] {
    return this.elements('text').map((text) => text.textContent ?? '');
  }

  /** The titles: the chart's own, and those of its panels, if it has any. */
  titles(): string[] {
    return this.textsIn('role-title-text');
  }

  /** The chart's subtitle, its lines run together. */ subtitle(): string {
    return this.textsIn('role-title-subtitle').join(' ');
  }

  private textsIn(className: string): string[] {
    return this.elements('text')
      .filter((text) => this.inGroup(text, className))
      .map((text) => text.textContent ?? '');
  }

  /** The shapes of one kind of mark: `rect` (bars and flame frames), `line`, `symbol` (points). */
  marks(type: string): Element[] {
    return this.elements('path').filter(
      (path) => this.inGroup(path, `mark-${type}`) && this.inGroup(path, 'role-mark'),
    );
  }

  /** Legend entries: each label with the colour of its symbol. */
  legend(): Map<string, string> {
    const labels = this.elements('text').filter((text) => this.inGroup(text, 'role-legend-label'));
    const symbols = this.elements('path').filter((path) => this.inGroup(path, 'role-legend-symbol'));
    return new Map(labels.map((label, index) => [label.textContent ?? '', symbols[index]?.getAttribute('fill') ?? '']));
  }

  private elements(tag: string): Element[] {
    return Array.from(this.root.getElementsByTagName(tag));
  }

  private inGroup(element: Element, className: string): boolean {
    for (let node = element.parentNode; node; node = node.parentNode) {
      const classes = (node as Element).getAttribute?.('class')?.split(/\s+/) ?? [];
      if (classes.includes(className)) return true;
    }
    return false;
  }
}

/** The width of a rect mark, from the path Vega draws it with (`M x,y h width v height h -width Z`). */
export function rectWidth(rect: Element): number {
  const match = /^M[-\d.e]+,[-\d.e]+h([-\d.e]+)/.exec(rect.getAttribute('d') ?? '');
  if (!match) throw new Error(`not a rect path: ${rect.getAttribute('d')}`);
  return Number(match[1]);
}

export const ariaLabel = (element: Element): string => element.getAttribute('aria-label') ?? '';
