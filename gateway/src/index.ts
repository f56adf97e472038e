/**
 * What the rest of Atlas (the Pulumi program, the CLI) and embedders import:
 * the one adapter schema and its readers, and the app for tests.
 */
export { ConfigError, type ConfigProblem } from './config/config-error';
export {
  ADAPTER_API_VERSION,
  ATLAS_API_VERSION,
  STACK_ADAPTERS_KEY,
  detectConfigFormat,
  parseAdapterFile,
  parseAdaptersJson,
  readAdapterFile,
  type ConfigFormat,
  type ParsedAdapterFile,
} from './config/parse-adapters';
export { findPlaceholders, substitutePlaceholders } from './config/placeholders';
export {
  describeSecretProblem,
  resolveAdapters,
  type ResolvedAdapter,
  type SecretProblem,
} from './config/resolve-adapters';
export {
  DEFAULT_TIMEOUT_MS,
  adapterHeaderSchema,
  adapterSchema,
  adaptersSchema,
  type Adapter,
  type AdapterHeader,
  type AdapterInput,
} from './config/schema';
export { createApp, type AppOptions } from './app';
export { createAuthenticator } from './auth/authenticate';
export { AtlasError, type ErrorId } from './http/errors';
export { isLoopbackHost, readSettings, type Settings } from './settings';
