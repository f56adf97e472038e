import path from 'node:path';
import type { AdapterSource } from '../settings';
import type { ParsedAdapterFile, readAdapterFile } from './parse-adapters';
import { parseAdaptersJson } from './validate-adapters';

/** The gateway's callers are its environment's (ATLAS_ACCESS_TOKENS), whatever a stack file declares. */
export interface LoadedAdapters extends Omit<ParsedAdapterFile, 'format' | 'callers'> {
  /** Where they came from, for the start-up log. */
  readonly source: string;
}

/** Reads the adapters from ATLAS_ADAPTERS, or from the config file. */
export function loadAdapters(source: AdapterSource, cwd = process.cwd()): LoadedAdapters {
  if (source.kind === 'json') {
    return {
      adapters: parseAdaptersJson(source.text),
      skipped: [],
      identityProviders: { issuers: [], unsupported: [] },
      warnings: [],
      source: 'ATLAS_ADAPTERS',
    };
  }
  const file = path.resolve(cwd, source.path);
  // The YAML reader loads only for a file: on ECS the adapters come as JSON, and start-up stays short.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { readAdapterFile: read } = require('./parse-adapters') as { readAdapterFile: typeof readAdapterFile };
  const { format, callers: _declared, ...parsed } = read(file);
  return { ...parsed, source: `${file} (${format === 'atlas' ? 'Atlas config' : 'Pulumi stack config'})` };
}
