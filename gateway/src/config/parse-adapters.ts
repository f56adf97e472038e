import { readFileSync } from 'node:fs';
import { type Document, LineCounter, type Node, parseAllDocuments } from 'yaml';
import { ConfigError, type ConfigProblem } from './config-error';
import { type IdentityProviders, readIdentityProviders } from './identity-providers';
import type { Adapter } from './schema';
import { type PathSegment, formatPath, validateAdapters, validateCallers } from './validate-adapters';

export const ATLAS_API_VERSION = 'moment.dev/atlas/v1alpha1';
export const ADAPTER_API_VERSION = 'moment.dev/adapters/v1alpha1';
export const STACK_ADAPTERS_KEY = 'atlas:adapters';
export const STACK_CALLERS_KEY = 'atlas:callers';
/** The caller a bare token identifies, and a stack's only caller unless `atlas:callers` says otherwise. */
export const DEFAULT_CALLER = 'default';

export type ConfigFormat = 'atlas' | 'pulumi-stack';

export interface ParsedAdapterFile {
  readonly format: ConfigFormat;
  /** The HTTP adapters: what the gateway serves. */
  readonly adapters: readonly Adapter[];
  /** Adapters of other kinds the config lists (AWS, Moment, ...): kept in the file, not served. */
  readonly skipped: readonly SkippedAdapter[];
  /** Who may call, from an Atlas config's `spec.identityProviders`. */
  readonly identityProviders: Omit<IdentityProviders, 'problems'>;
  /**
   * The static callers the file declares (a stack config's `atlas:callers`,
   * `[default]` when absent); undefined when the file cannot tell (an Atlas
   * config: its callers are the gateway's environment).
   */
  readonly callers: readonly string[] | undefined;
  /** Things that are allowed but probably not meant, for the caller to log. */
  readonly warnings: readonly string[];
}

export interface SkippedAdapter {
  readonly name: string;
  readonly kind: string;
}

const NO_PROVIDERS: Omit<IdentityProviders, 'problems'> = { issuers: [], unsupported: [] };

/** A file with no adapters yet: what `atlas config add-http-adapter` may start from. */
export function emptyAdapterFile(format: ConfigFormat): ParsedAdapterFile {
  return {
    format,
    adapters: [],
    skipped: [],
    identityProviders: NO_PROVIDERS,
    callers: format === 'pulumi-stack' ? [DEFAULT_CALLER] : undefined,
    warnings: [],
  };
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
  const callers =
    STACK_CALLERS_KEY in config
      ? validateCallers(config[STACK_CALLERS_KEY], file, (path) =>
          locateNode(
            file,
            lines,
            doc,
            ['config', STACK_CALLERS_KEY, ...path],
            `config.${STACK_CALLERS_KEY}${formatPath(path)}`,
          ),
        )
      : [DEFAULT_CALLER];
  return { ...emptyAdapterFile('pulumi-stack'), adapters, callers };
}

/** A document of an adapter, of any kind: everything but the Atlas document that has a kind and a name. */
interface AdapterDocument {
  readonly doc: Document;
  readonly index: number;
  readonly kind: string;
  readonly value: Record<string, unknown>;
}

function parseAtlasConfig(docs: readonly Document[], file: string, lines: LineCounter): ParsedAdapterFile {
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const values = docs.map((doc) => doc.toJS() as unknown);
  const atlasIndex = values.findIndex((value) => isRecord(value) && value.kind === 'Atlas');
  const atlasDoc = docs[atlasIndex]!;
  const atlas = values[atlasIndex] as Record<string, unknown>;
  const atlasWhere = (path: PathSegment[], label: string) => locateNode(file, lines, atlasDoc, path, label);

  // Adapter names are unique across kinds: a reference names one document.
  const adapterDocs = new Map<string, AdapterDocument>();
  values.forEach((value, index) => {
    if (index === atlasIndex || !isRecord(value) || typeof value.kind !== 'string') return;
    const doc = docs[index]!;
    const kind = value.kind;
    const name = isRecord(value.metadata) ? value.metadata.name : undefined;
    const where = (path: PathSegment[]) => locateNode(file, lines, doc, path, `document ${index + 1}`);
    if (kind === 'HTTP' && value.apiVersion !== ADAPTER_API_VERSION) {
      problems.push({
        where: where(['apiVersion']),
        message: `HTTP adapters need "apiVersion: ${ADAPTER_API_VERSION}"`,
      });
    }
    if (typeof name !== 'string') {
      if (kind === 'HTTP') {
        problems.push({
          where: where(['metadata']),
          message: 'an HTTP adapter needs "metadata.name", such as "heroku"',
        });
      }
      return;
    }
    const first = adapterDocs.get(name);
    if (first !== undefined) {
      problems.push({
        where: where(['metadata', 'name']),
        message: `"${name}" already names the ${first.kind} adapter of document ${first.index + 1}: adapter names must be unique across kinds`,
      });
      return;
    }
    adapterDocs.set(name, { doc, index, kind, value });
  });

  const spec = isRecord(atlas.spec) ? atlas.spec : {};
  const refs = spec.apiAdapters;
  if (refs !== undefined && !Array.isArray(refs)) {
    problems.push({
      where: atlasWhere(['spec', 'apiAdapters'], 'spec.apiAdapters'),
      message: 'must be a list of "- adapterRef: {apiVersion, kind, name}" entries',
    });
  }
  const inputs: unknown[] = [];
  const origins: AdapterDocument[] = [];
  const skipped: SkippedAdapter[] = [];
  const referenced = new Set<string>();
  (Array.isArray(refs) ? refs : []).forEach((entry: unknown, index) => {
    const where = atlasWhere(['spec', 'apiAdapters', index], `spec.apiAdapters[${index}]`);
    const ref = isRecord(entry) ? entry.adapterRef : undefined;
    if (!isRecord(ref) || typeof ref.name !== 'string' || typeof ref.kind !== 'string') {
      problems.push({ where, message: 'expected "adapterRef: {apiVersion, kind, name}"' });
      return;
    }
    const { name, kind } = ref;
    const target = adapterDocs.get(name);
    if (target === undefined) {
      problems.push({
        where,
        message: `adapterRef "${name}" has no matching document: add a "kind: ${kind}" document with "metadata.name: ${name}"`,
      });
      return;
    }
    if (target.kind !== kind) {
      problems.push({
        where,
        message: `adapterRef "${name}" has kind ${kind}, but the document named "${name}" (document ${target.index + 1}) has kind ${target.kind}`,
      });
      return;
    }
    if (referenced.has(name)) {
      problems.push({ where, message: `adapter "${name}" is referenced twice` });
      return;
    }
    referenced.add(name);
    if (kind !== 'HTTP') {
      skipped.push({ name, kind });
      return;
    }
    const adapterSpec = isRecord(target.value.spec) ? target.value.spec : {};
    inputs.push({ name, ...adapterSpec });
    origins.push(target);
  });
  for (const [name, { index, kind }] of adapterDocs) {
    if (kind === 'HTTP' && !referenced.has(name)) {
      warnings.push(
        `${file}: HTTP adapter "${name}" (document ${index + 1}) is not listed in spec.apiAdapters and is not served`,
      );
    }
  }
  const { problems: providerProblems, ...identityProviders } = readIdentityProviders(spec.identityProviders, (path) =>
    atlasWhere(['spec', 'identityProviders', ...path], `spec.identityProviders${formatPath(path)}`),
  );
  problems.push(...providerProblems);
  if (problems.length > 0) throw new ConfigError(`${file} is not a valid Atlas config`, problems);

  const adapters = validateAdapters(inputs, file, ([index, ...rest]) => {
    const origin = origins[index as number]!;
    const path = rest[0] === 'name' ? ['metadata', 'name'] : ['spec', ...rest];
    return locateNode(file, lines, origin.doc, path, `document ${origin.index + 1}, ${path.join('.')}`);
  });
  return { format: 'atlas', adapters, skipped, identityProviders, callers: undefined, warnings };
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
