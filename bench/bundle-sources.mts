import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * A line that holds nothing but a comment naming a file, such as
 * `// ../node_modules/express/lib/router.js` or `// src/http/respond.ts`:
 * where an esbuild bundle that is not minified (gateway/bundle.mts) starts
 * the code of each of its input files. A path, with no spaces, is required so
 * that ordinary comments do not count.
 */
const MARKER = /^\/\/ (\S*\/\S*\.(?:[cm]?[jt]sx?|json))$/;

/** What the bundle holds before its first input file: esbuild's helpers (`__commonJS`, `__toESM`, ...). */
export const BUNDLE_RUNTIME = '(esbuild runtime)';

/** Where each input file starts in one bundle: 0-based line numbers, ascending. */
interface BundleIndex {
  readonly lines: readonly number[];
  readonly files: readonly string[];
}

/**
 * Maps a frame of a bundled script back to the input file its function
 * came from. A V8 profile of the bundled gateway names one file for every
 * frame; without this, Express, the proxy engine, pino and the gateway's own
 * code would all count as that one file. Each bundle is read once, from the
 * path in the profile, so the profile must be read where that build still is.
 */
export class BundleSources {
  private readonly bundles = new Map<string, BundleIndex | undefined>();

  /** The input file, as the bundle names it, of the function that starts at `lineNumber` (0-based); undefined if `url` is not a readable bundle. */
  sourceOf(url: string, lineNumber: number): string | undefined {
    let index = this.bundles.get(url);
    if (!this.bundles.has(url)) {
      index = readBundleIndex(url);
      this.bundles.set(url, index);
    }
    if (index === undefined) return undefined;
    // The last input file that starts on or before the line.
    let low = 0;
    let high = index.lines.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (index.lines[middle]! <= lineNumber) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found === -1 ? BUNDLE_RUNTIME : index.files[found];
  }
}

function readBundleIndex(url: string): BundleIndex | undefined {
  let text: string;
  try {
    const file = url.startsWith('file:') ? fileURLToPath(url) : url;
    if (!/\.[cm]?js$/.test(file)) return undefined;
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const lines: number[] = [];
  const files: string[] = [];
  text.split('\n').forEach((line, number) => {
    const marker = MARKER.exec(line);
    if (marker) {
      lines.push(number);
      files.push(marker[1]!);
    }
  });
  return lines.length > 0 ? { lines, files } : undefined;
}
