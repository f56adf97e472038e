import path from 'node:path';
import type { AdapterSource } from '../settings';
import type { readAdapterFile } from './parse-adapters';
import { parseAdaptersJson } from './validate-adapters';
import type { Adapter } from './schema';

export interface LoadedAdapters {
  readonly adapters: readonly Adapter[];
  /** Where they came from, for the start-up log. */
  readonly source: string;
  readonly warnings: readonly string[];
}

/** Reads the adapters from ATLAS_ADAPTERS, or from the config file. */
export function loadAdapters(source: AdapterSource, cwd = process.cwd()): LoadedAdapters {
  if (source.kind === 'json') {
    return { adapters: parseAdaptersJson(source.text), source: 'ATLAS_ADAPTERS', warnings: [] };
  }
  const file = path.resolve(cwd, source.path);
  // The YAML reader loads only for a file: on ECS the adapters come as JSON, and start-up stays short.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { readAdapterFile: read } = require('./parse-adapters') as { readAdapterFile: typeof readAdapterFile };
  const { adapters, warnings, format } = read(file);
  return { adapters, source: `${file} (${format === 'atlas' ? 'Atlas config' : 'Pulumi stack config'})`, warnings };
}
