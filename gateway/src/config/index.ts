/**
 * The config model shared by the gateway, the Pulumi program and the CLI:
 * the adapter schema, its file readers and `${{ VAR }}` placeholders. It
 * loads no HTTP machinery, so `infra/` can import it cheaply.
 */
export { ConfigError, type ConfigProblem } from './config-error';
export {
  ADAPTER_API_VERSION,
  ATLAS_API_VERSION,
  DEFAULT_CALLER,
  STACK_ADAPTERS_KEY,
  STACK_CALLERS_KEY,
  detectConfigFormat,
  emptyAdapterFile,
  parseAdapterFile,
  readAdapterFile,
  type ConfigFormat,
  type ParsedAdapterFile,
  type SkippedAdapter,
} from './parse-adapters';
export type { IdentityProviders, UnsupportedProvider } from './identity-providers';
export { parseAdaptersJson, validateCallers } from './validate-adapters';
export { findPlaceholders, substitutePlaceholders } from './placeholders';
export {
  DEFAULT_TIMEOUT_MS,
  adapterHeaderSchema,
  adapterSchema,
  adaptersSchema,
  callersSchema,
  findNamedCallers,
  isReservedVariable,
  type Adapter,
  type AdapterHeader,
  type AdapterInput,
} from './schema';
