import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../gateway/src/config/config-error';

export const FIXTURES = path.resolve(__dirname, '../fixtures');

/** The heroku adapter of Pulumi.dev.yaml, as the config readers return it. */
export const HEROKU_ADAPTER = {
  name: 'heroku',
  baseUrl: 'https://api.heroku.com',
  headers: [
    { name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' },
    { name: 'Accept', value: 'application/vnd.heroku+json; version=3' },
  ],
  timeoutMs: 30000,
  bodyIdleTimeoutMs: 60000,
};

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

export interface TempDir {
  readonly path: string;
  /** Writes `text` to `name` inside the directory and returns the file's absolute path. */
  write(name: string, text: string): string;
  remove(): void;
}

export function makeTempDir(): TempDir {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-config-'));
  return {
    path: dir,
    write(name, text) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      return file;
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export interface AdapterRef {
  readonly name: string;
  /** HTTP unless given. */
  readonly kind?: string;
}

/**
 * An Atlas config: the `kind: Atlas` document referencing `refs`, then the
 * given documents. Sequences are written unindented, the way the Atlas CLI
 * writes them.
 */
export function atlasConfig(refs: readonly AdapterRef[], ...documents: string[]): string {
  const atlas = [
    'apiVersion: moment.dev/atlas/v1alpha1',
    'kind: Atlas',
    'metadata:',
    '  name: atlas',
    'spec:',
    '  apiAdapters:',
    ...refs.flatMap(({ name, kind = 'HTTP' }) => [
      '  - adapterRef:',
      '      apiVersion: moment.dev/adapters/v1alpha1',
      `      kind: ${kind}`,
      `      name: ${name}`,
    ]),
    '  exposedPorts: {}',
    '',
  ].join('\n');
  return [atlas, ...documents].join('---\n');
}

/** One `kind: HTTP` document; `spec` is the YAML under `spec:`, indented by two spaces. */
export function httpDocument(name: string, spec: string): string {
  return [
    'apiVersion: moment.dev/adapters/v1alpha1',
    'kind: HTTP',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    spec.replace(/\n?$/, '\n'),
  ].join('\n');
}

/** The 1-based number of the `occurrence`-th line of `text` that contains `marker`. */
export function lineOf(text: string, marker: string, occurrence = 1): number {
  let seen = 0;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    if (lines[index]!.includes(marker) && ++seen === occurrence) return index + 1;
  }
  throw new Error(`"${marker}" does not occur ${occurrence} time(s) in the text`);
}

/** The ConfigError that `run` throws; fails if it throws anything else or nothing. */
export function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but the config was accepted');
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
