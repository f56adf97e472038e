import { readFileSync } from 'node:fs';
import { type Document, LineCounter, type Node, parseAllDocuments } from 'yaml';
import { ConfigError, type ConfigProblem } from './config-error';
import type { Adapter } from './schema';
import { type PathSegment, formatPath, validateAdapters } from './validate-adapters';

export const ATLAS_API_VERSION = 'moment.dev/atlas/v1alpha1';
export const ADAPTER_API_VERSION = 'moment.dev/adapters/v1alpha1';
export const STACK_ADAPTERS_KEY = 'atlas:adapters';

export type ConfigFormat = 'atlas' | 'pulumi-stack';

export interface ParsedAdapterFile {
  readonly format: ConfigFormat;
  readonly adapters: readonly Adapter[];
  /** Things that are allowed but probably not meant, for the caller to log. */
  readonly warnings: readonly string[];
}

/** Reads a config file (Atlas config or Pulumi stack config, told apart by content). */
export function readAdapterFile(file: string): ParsedAdapterFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the config file ${file}`, [
      { where: file, message: `${(error as NodeJS.ErrnoException).code ?? (error as Error).message}: check the path` },
    ]);
  }
  return parseAdapterFile(text, file);
}

/** Parses config file text: an Atlas config or a Pulumi stack config. */
export function parseAdapterFile(text: string, file: string): ParsedAdapterFile {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const docs = Array.isArray(documents) ? documents : [];
  const syntaxProblems: ConfigProblem[] = docs.flatMap((doc) =>
    doc.errors.map((error) => ({
      where: locate(file, lineCounter, error.pos[0]),
      message: error.message.split('\n')[0] ?? error.code,
    })),
  );
  if (syntaxProblems.length > 0) throw new ConfigError(`${file} is not valid YAML`, syntaxProblems);

  const format = detectConfigFormat(docs);
  if (format === 'atlas') return parseAtlasConfig(docs, file, lineCounter);
  if (format === 'pulumi-stack') return parseStackConfig(docs[0]!, file, lineCounter);
  throw new ConfigError(`${file} is neither an Atlas config nor a Pulumi stack config`, [
    {
      where: file,
      message: `expected a document with "kind: Atlas" (apiVersion ${ATLAS_API_VERSION}) or a Pulumi stack config with "config: ${STACK_ADAPTERS_KEY}: [...]"`,
    },
  ]);
}

/** Tells the two config shapes apart by their content. */
export function detectConfigFormat(docs: readonly Document[]): ConfigFormat | undefined {
  const values = docs.map((doc) => doc.toJS() as unknown);
  if (values.some((value) => isRecord(value) && value.kind === 'Atlas')) return 'atlas';
  const [first] = values;
  if (values.length === 1 && isRecord(first) && isRecord(first.config)) return 'pulumi-stack';
  return undefined;
}

function parseStackConfig(doc: Document, file: string, lines: LineCounter): ParsedAdapterFile {
  const config = (doc.toJS() as { config: Record<string, unknown> }).config;
  if (!(STACK_ADAPTERS_KEY in config)) {
    throw new ConfigError(`${file} has no adapters`, [
      {
        where: `${file}: config`,
        message: `add "${STACK_ADAPTERS_KEY}:" with a list of adapters, for example: - name: heroku / baseUrl: https://api.heroku.com`,
      },
    ]);
  }
  const nodePath = ['config', STACK_ADAPTERS_KEY];
  const adapters = validateAdapters(config[STACK_ADAPTERS_KEY], file, (path) =>
    locateNode(file, lines, doc, [...nodePath, ...path], `config.${STACK_ADAPTERS_KEY}${formatPath(path)}`),
  );
  return { format: 'pulumi-stack', adapters, warnings: [] };
}

interface HttpDocument {
  readonly doc: Document;
  readonly index: number;
  readonly value: Record<string, unknown>;
}

function parseAtlasConfig(docs: readonly Document[], file: string, lines: LineCounter): ParsedAdapterFile {
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const values = docs.map((doc) => doc.toJS() as unknown);
  const atlasIndex = values.findIndex((value) => isRecord(value) && value.kind === 'Atlas');
  const atlasDoc = docs[atlasIndex]!;
  const atlas = values[atlasIndex] as Record<string, unknown>;

  const httpDocs = new Map<string, HttpDocument>();
  values.forEach((value, index) => {
    if (!isRecord(value) || value.kind !== 'HTTP') return;
    const doc = docs[index]!;
    const name = isRecord(value.metadata) ? value.metadata.name : undefined;
    const where = (path: PathSegment[]) => locateNode(file, lines, doc, path, `document ${index + 1}`);
    if (value.apiVersion !== ADAPTER_API_VERSION) {
      problems.push({
        where: where(['apiVersion']),
        message: `HTTP adapters need "apiVersion: ${ADAPTER_API_VERSION}"`,
      });
    }
    if (typeof name !== 'string') {
      problems.push({ where: where(['metadata']), message: 'an HTTP adapter needs "metadata.name", such as "heroku"' });
    } else if (httpDocs.has(name)) {
      problems.push({
        where: where(['metadata', 'name']),
        message: `a second HTTP document is named "${name}": names must be unique`,
      });
    } else {
      httpDocs.set(name, { doc, index, value });
    }
  });

  const refs = isRecord(atlas.spec) ? atlas.spec.apiAdapters : undefined;
  if (refs !== undefined && !Array.isArray(refs)) {
    problems.push({
      where: locateNode(file, lines, atlasDoc, ['spec', 'apiAdapters'], 'spec.apiAdapters'),
      message: 'must be a list of "- adapterRef: {apiVersion, kind, name}" entries',
    });
  }
  const inputs: unknown[] = [];
  const origins: HttpDocument[] = [];
  const referenced = new Set<string>();
  (Array.isArray(refs) ? refs : []).forEach((entry: unknown, index) => {
    const where = locateNode(file, lines, atlasDoc, ['spec', 'apiAdapters', index], `spec.apiAdapters[${index}]`);
    const ref = isRecord(entry) ? entry.adapterRef : undefined;
    if (!isRecord(ref) || typeof ref.name !== 'string') {
      problems.push({ where, message: 'expected "adapterRef: {apiVersion, kind, name}"' });
      return;
    }
    if (ref.kind !== 'HTTP') {
      problems.push({
        where,
        message: `adapter "${ref.name}" has kind "${String(ref.kind)}": only kind HTTP is supported`,
      });
      return;
    }
    const target = httpDocs.get(ref.name);
    if (target === undefined) {
      problems.push({
        where,
        message: `adapterRef "${ref.name}" has no matching document: add a "kind: HTTP" document with "metadata.name: ${ref.name}"`,
      });
      return;
    }
    if (referenced.has(ref.name)) {
      problems.push({ where, message: `adapter "${ref.name}" is referenced twice` });
      return;
    }
    referenced.add(ref.name);
    const spec = isRecord(target.value.spec) ? target.value.spec : {};
    inputs.push({ name: ref.name, ...spec });
    origins.push(target);
  });
  for (const [name, { index }] of httpDocs) {
    if (!referenced.has(name)) {
      warnings.push(
        `${file}: HTTP adapter "${name}" (document ${index + 1}) is not listed in spec.apiAdapters and is not served`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(`${file} is not a valid Atlas config`, problems);

  const adapters = validateAdapters(inputs, file, ([index, ...rest]) => {
    const origin = origins[index as number]!;
    const path = rest[0] === 'name' ? ['metadata', 'name'] : ['spec', ...rest];
    return locateNode(file, lines, origin.doc, path, `document ${origin.index + 1}, ${path.join('.')}`);
  });
  return { format: 'atlas', adapters, warnings };
}

function locate(file: string, lines: LineCounter, offset: number): string {
  const { line, col } = lines.linePos(offset);
  return `${file}:${line}:${col}`;
}

/** The file position of the deepest node on `path` that exists, with a readable key path. */
function locateNode(file: string, lines: LineCounter, doc: Document, path: PathSegment[], label: string): string {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = (depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true)) as Node | null | undefined;
    if (node?.range) return `${locate(file, lines, node.range[0])} (${label})`;
  }
  return `${file} (${label})`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
