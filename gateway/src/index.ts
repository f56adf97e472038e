/**
 * What the rest of Atlas (the Pulumi program, the CLI) and embedders import:
 * the one adapter schema and its readers, and the app for tests.
 */
export * from './config';
export {
  describeSecretProblem,
  resolveAdapters,
  type ResolvedAdapter,
  type SecretProblem,
} from './config/resolve-adapters';
export { createApp, type AppOptions } from './app';
export { createAuthenticator } from './auth/authenticate';
export { AtlasError, type ErrorId } from './http/errors';
export { detectCrossSiteRequest, type CrossSiteSignal } from './http/cross-site';
export { isLoopbackHost, readSettings, type Settings } from './settings';
