import {
  ADAPTER_API_VERSION,
  type Adapter,
  ConfigError,
  type ConfigFormat,
  type ParsedAdapterFile,
  STACK_ADAPTERS_KEY,
  adapterSchema,
  detectConfigFormat,
  emptyAdapterFile,
  parseAdapterFile,
} from '@atlas/gateway/config';
import { Document, type Node, isMap, isSeq, parseAllDocuments, type YAMLMap, type YAMLSeq } from 'yaml';

/** An adapter as the CLI adds it: headers in the order given. */
export interface NewAdapter {
  readonly name: string;
  readonly baseUrl: string;
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  /** Host names the adapter also serves at the root; left out of the file when empty. */
  readonly hostnames?: readonly string[];
}

export interface AppendResult {
  readonly format: ConfigFormat;
  readonly text: string;
  readonly adapter: Adapter;
}

/** The file's own layout, so added lines read like the lines around them. */
interface Style {
  /** Spaces per nesting level. */
  readonly indent: number;
  /** Whether `- ` items sit deeper than their key (`key:\n  - a`) or level with it (`key:\n- a`). */
  readonly indentSeq: boolean;
}

/**
 * Adds an HTTP adapter to a config file's text. The change is purely
 * additive: the new lines are inserted, every existing byte stays where it
 * was, so a diff shows only added lines. On an Atlas config an `adapterRef` is
 * appended to `spec.apiAdapters` and a `kind: HTTP` document to the end; on a
 * Pulumi stack config an entry is appended to `atlas:adapters`.
 */
export function appendAdapter(text: string, file: string, adapter: NewAdapter): AppendResult {
  const existing = readExisting(text, file);
  const validated = validateNewAdapter(adapter, file);
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new ConfigError(`${file} is empty`, [{ where: file, message: 'expected a config' }]);
  const taken =
    existing.format === 'atlas'
      ? [...existing.adapters.map((a) => a.name), ...adapterDocumentNames(docs)]
      : existing.adapters.map((a) => a.name);
  if (taken.includes(adapter.name)) {
    throw new ConfigError(`${file} already has an adapter named "${adapter.name}"`, [
      { where: file, message: 'choose another --adapter-name, or edit the existing adapter' },
    ]);
  }
  for (const hostname of validated.hostnames ?? []) {
    const owner = existing.adapters.find((other) => other.hostnames?.includes(hostname));
    if (owner !== undefined) {
      throw new ConfigError(`${file} already serves host name "${hostname}" with adapter "${owner.name}"`, [
        { where: file, message: 'host names are unique across adapters: choose another --hostname' },
      ]);
    }
  }
  // Host names are written as the gateway reads them: in lower case.
  const added: NewAdapter = { ...adapter, hostnames: validated.hostnames ?? [] };
  const style = detectStyle(text, docs);
  const updated =
    existing.format === 'atlas'
      ? appendToAtlasConfig(text, file, docs, added, style)
      : appendToStackConfig(text, file, docs, added, style);

  // The result must read back as the old adapters plus the new one.
  const reread = parseAdapterFile(updated, file);
  const names = reread.adapters.map((a) => a.name);
  if (names.join() !== [...existing.adapters.map((a) => a.name), adapter.name].join()) {
    throw new Error(`internal error: ${file} would not read back with adapter "${adapter.name}" added`);
  }
  return { format: existing.format, text: updated, adapter: validated };
}

/**
 * The file's current adapters. A stack config without `atlas:adapters` is
 * a valid place for the first one (the key is added), though the gateway
 * refuses to start on it.
 */
function readExisting(text: string, file: string): ParsedAdapterFile {
  try {
    return parseAdapterFile(text, file);
  } catch (error) {
    if (error instanceof ConfigError && isStackConfigWithoutAdapters(text)) {
      return emptyAdapterFile('pulumi-stack');
    }
    throw error;
  }
}

function isStackConfigWithoutAdapters(text: string): boolean {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.some((doc) => doc.errors.length > 0)) return false;
  if (detectConfigFormat(docs) !== 'pulumi-stack') return false;
  const config = docs[0]!.get('config', true);
  return isMap(config) && !config.has(STACK_ADAPTERS_KEY);
}

function validateNewAdapter(adapter: NewAdapter, file: string): Adapter {
  const result = adapterSchema.safeParse(adapter);
  if (result.success) return result.data;
  const option: Record<string, string> = {
    name: '--adapter-name',
    baseUrl: '--base-url',
    headers: '-H',
    hostnames: '--hostname',
  };
  throw new ConfigError(
    `the new adapter is not valid; ${file} was not changed`,
    result.error.issues.map((issue) => ({
      where: option[String(issue.path[0])] ?? String(issue.path[0]),
      message: issue.message,
    })),
  );
}

function appendToAtlasConfig(
  text: string,
  file: string,
  docs: readonly Document[],
  adapter: NewAdapter,
  style: Style,
): string {
  const atlas = docs.find((doc) => doc.get('kind') === 'Atlas')!;
  const spec = atlas.get('spec', true);
  if (!isMap(spec) || spec.flow) {
    throw refusal(file, 'the Atlas document has no block-style "spec:" map to add spec.apiAdapters to');
  }
  const ref = [{ adapterRef: { apiVersion: ADAPTER_API_VERSION, kind: 'HTTP', name: adapter.name } }];
  const withRef = appendToSequence(text, file, spec, 'apiAdapters', ref, style);

  const document = new Document(
    {
      apiVersion: ADAPTER_API_VERSION,
      kind: 'HTTP',
      metadata: { name: adapter.name },
      spec: {
        baseUrl: adapter.baseUrl,
        headers: adapter.headers.map(({ name, value }) => ({ name, value })),
        ...hostnamesOf(adapter),
      },
    },
    { version: '1.2' },
  );
  const separator = withRef.endsWith('\n') ? '' : '\n';
  return `${withRef}${separator}---\n${document.toString({ indent: style.indent, indentSeq: style.indentSeq, lineWidth: 0 })}`;
}

function appendToStackConfig(
  text: string,
  file: string,
  docs: readonly Document[],
  adapter: NewAdapter,
  style: Style,
): string {
  const config = docs[0]!.get('config', true);
  if (!isMap(config) || config.flow) throw refusal(file, 'its "config:" is not a block-style map');
  const entry = [
    {
      name: adapter.name,
      baseUrl: adapter.baseUrl,
      headers: adapter.headers.map(({ name, value }) => ({ name, value })),
      ...hostnamesOf(adapter),
    },
  ];
  return appendToSequence(text, file, config, STACK_ADAPTERS_KEY, entry, style);
}

/**
 * Inserts `items` at the end of the block sequence `map[key]`, at the
 * column of its existing items; creates the key at the end of `map` when it
 * is missing.
 */
function appendToSequence(
  text: string,
  file: string,
  map: YAMLMap,
  key: string,
  items: unknown[],
  style: Style,
): string {
  const node = map.get(key, true) as Node | undefined;
  if (node === undefined || node === null) {
    const column = childColumn(text, map);
    const block = `${' '.repeat(column)}${key}:\n${renderSequence(items, style, column + (style.indentSeq ? style.indent : 0))}`;
    return insertAfterLineOf(text, end(map), block);
  }
  if (!isSeq(node) || node.flow) {
    throw refusal(file, `"${key}" is not a block-style list ("- item" lines); rewrite it as one to add adapters`);
  }
  const seq = node as YAMLSeq;
  const last = seq.items.at(-1) as Node | undefined;
  if (last?.range === undefined || last.range === null)
    throw refusal(file, `"${key}" is an empty list; write its entries as "- item" lines`);
  return insertAfterLineOf(text, end(seq), renderSequence(items, style, dashColumn(text, last.range[0])));
}

function renderSequence(items: unknown[], style: Style, column: number): string {
  const yaml = new Document(items, { version: '1.2' }).toString({
    indent: style.indent,
    indentSeq: style.indentSeq,
    lineWidth: 0,
  });
  const pad = ' '.repeat(column);
  return yaml
    .split('\n')
    .map((line) => (line === '' ? line : pad + line))
    .join('\n');
}

/** Inserts `block` at the start of the line after the one holding `offset`. */
function insertAfterLineOf(text: string, offset: number, block: string): string {
  const newline = text.indexOf('\n', Math.max(offset - 1, 0));
  const at = newline === -1 ? text.length : newline + 1;
  const before = newline === -1 ? `${text}\n` : text.slice(0, at);
  return before + block + text.slice(at);
}

/** Where a node's own content ends (its trailing comments and blank lines excluded). */
function end(node: Node): number {
  return node.range![1];
}

/** The column of the `-` that introduces the item starting at `offset`. */
function dashColumn(text: string, offset: number): number {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const dash = text.lastIndexOf('-', offset - 1);
  return dash >= lineStart ? dash - lineStart : offset - lineStart;
}

/** The column of the keys of a block map. */
function childColumn(text: string, map: YAMLMap): number {
  const first = map.items[0]?.key as Node | undefined;
  const offset = first?.range?.[0] ?? map.range![0];
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

function detectStyle(text: string, docs: readonly Document[]): Style {
  let indent: number | undefined;
  let indentSeq: boolean | undefined;
  const visit = (node: unknown, keyColumn: number | undefined): void => {
    if (isMap(node) && !node.flow) {
      const column = childColumn(text, node);
      if (keyColumn !== undefined && indent === undefined && column > keyColumn) indent = column - keyColumn;
      for (const pair of node.items) visit(pair.value, column);
    } else if (isSeq(node) && !node.flow) {
      const first = node.items[0] as Node | undefined;
      if (first?.range !== undefined && first.range !== null && keyColumn !== undefined && indentSeq === undefined) {
        indentSeq = dashColumn(text, first.range[0]) > keyColumn;
      }
      for (const item of node.items) visit(item, undefined);
    }
  };
  for (const doc of docs) visit(doc.contents, undefined);
  return { indent: indent ?? 2, indentSeq: indentSeq ?? false };
}

/** The names of every adapter document, of any kind: names are unique across kinds. */
function adapterDocumentNames(docs: readonly Document[]): string[] {
  return docs
    .filter((doc) => typeof doc.get('kind') === 'string' && doc.get('kind') !== 'Atlas')
    .map((doc) => doc.getIn(['metadata', 'name']))
    .filter((name): name is string => typeof name === 'string');
}

function hostnamesOf(adapter: NewAdapter): { hostnames?: string[] } {
  return adapter.hostnames !== undefined && adapter.hostnames.length > 0 ? { hostnames: [...adapter.hostnames] } : {};
}

function refusal(file: string, message: string): ConfigError {
  return new ConfigError(`cannot add the adapter to ${file}; it was not changed`, [{ where: file, message }]);
}
