import { CALLER_NAME } from './config/access-rules';
import { ConfigError, type ConfigProblem } from './config/config-error';
import { isLoopbackHost } from './http/cross-site';
import { DEFAULT_SERVICE, SERVICE_VARIABLE } from './metrics/names';

export { isLoopbackHost };

/** Everything the gateway takes from its environment, parsed once and frozen. */
export interface Settings {
  readonly port: number;
  readonly host: string;
  readonly adapterSource: AdapterSource;
  readonly auth: AuthSettings;
  readonly logLevel: LogLevel;
  readonly shutdownGraceMs: number;
  /** How long a client may take to send a whole request, body included. */
  readonly requestTimeoutMs: number;
  readonly metrics: MetricsSettings;
}

export interface MetricsSettings {
  /** The `Service` dimension of every metric. */
  readonly service: string;
  /** How often the EMF documents are written. */
  readonly intervalMs: number;
  /** The admin listener serving `GET /metrics`; undefined: off. */
  readonly admin: { readonly port: number; readonly host: string } | undefined;
}

export type AdapterSource =
  { readonly kind: 'json'; readonly text: string } | { readonly kind: 'file'; readonly path: string };

/** The caller authentication the environment asks for; see `resolveCallerAuth` for what applies. */
export interface AuthSettings {
  /** Static caller tokens, each with its caller's name. Never log the tokens. */
  readonly accessTokens: readonly AccessToken[];
  readonly oidc: OidcSettings | undefined;
  /** ATLAS_AUTH=none: no caller authentication if nothing else configures it (loopback only). */
  readonly none: boolean;
  /** Some ATLAS_OIDC_* variable is set (if `oidc` is undefined, its problems are reported). */
  readonly oidcRequested: boolean;
}

/** A static token and the caller it identifies (`default` for a bare token). */
export interface AccessToken {
  readonly caller: string;
  readonly token: string;
}

export interface OidcSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: URL;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;
export const DEFAULT_CONFIG_FILE = 'Pulumi.dev.yaml';
const OIDC_VARIABLES = ['ATLAS_OIDC_ISSUER', 'ATLAS_OIDC_AUDIENCE', 'ATLAS_OIDC_JWKS_URL'] as const;
export const MIN_ACCESS_TOKEN_LENGTH = 32;
/** The caller a bare token (no `name=`) identifies. */
export const DEFAULT_CALLER = 'default';

type Env = Readonly<Record<string, string | undefined>>;

/** The settings, or a ConfigError listing every problem of the environment. */
export function readSettings(env: Env): Settings {
  const { settings, problems } = inspectSettings(env);
  if (problems.length > 0) throw new ConfigError('the gateway environment is not valid', problems);
  return settings;
}

/**
 * The settings and every problem of the environment, without throwing, so
 * that start-up can report them together with those of the config file.
 * Where a value has a problem, its default stands in.
 */
export function inspectSettings(env: Env): { settings: Settings; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const fail = (where: string, message: string) => {
    problems.push({ where, message });
  };

  const port = readInteger(env, 'PORT', 8080, 0, 65_535, fail);
  const host = env.HOST?.trim() || '127.0.0.1';
  const shutdownGraceMs = readInteger(env, 'ATLAS_SHUTDOWN_GRACE_MS', 20_000, 0, 120_000, fail);
  const requestTimeoutMs = readInteger(
    env,
    'ATLAS_REQUEST_TIMEOUT_MS',
    DEFAULT_REQUEST_TIMEOUT_MS,
    1_000,
    3_600_000,
    fail,
  );

  const requestedLevel = env.ATLAS_LOG_LEVEL?.trim() || 'info';
  const known = (LOG_LEVELS as readonly string[]).includes(requestedLevel);
  if (!known) fail('ATLAS_LOG_LEVEL', `"${requestedLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  const logLevel = (known ? requestedLevel : 'info') as LogLevel;

  const adapterSource: AdapterSource =
    env.ATLAS_ADAPTERS !== undefined && env.ATLAS_ADAPTERS.trim() !== ''
      ? { kind: 'json', text: env.ATLAS_ADAPTERS }
      : { kind: 'file', path: env.ATLAS_CONFIG?.trim() || DEFAULT_CONFIG_FILE };

  const auth = readAuth(env, fail);
  const metrics = readMetrics(env, port, fail);
  const settings = Object.freeze({
    port,
    host,
    adapterSource,
    auth,
    logLevel,
    shutdownGraceMs,
    requestTimeoutMs,
    metrics,
  });
  return { settings, problems };
}

function readAuth(env: Env, fail: (where: string, message: string) => void): AuthSettings {
  const accessTokens = (env.ATLAS_ACCESS_TOKENS ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry, index) => {
      const named = readNamedToken(entry);
      const { caller, token } = named ?? { caller: DEFAULT_CALLER, token: entry };
      if (token.length < MIN_ACCESS_TOKEN_LENGTH) {
        const which = named === undefined ? `token ${index + 1}` : `the token of caller "${caller}"`;
        fail(
          'ATLAS_ACCESS_TOKENS',
          `${which} has ${token.length} characters; use at least ${MIN_ACCESS_TOKEN_LENGTH} random characters (for example: openssl rand -hex 32), as NAME=TOKEN or a bare TOKEN for the caller "${DEFAULT_CALLER}"`,
        );
      }
      return Object.freeze({ caller, token });
    });
  const callerOfToken = new Map<string, string>();
  for (const { caller, token } of accessTokens) {
    const other = callerOfToken.get(token);
    if (other !== undefined && other !== caller) {
      fail(
        'ATLAS_ACCESS_TOKENS',
        `callers "${other}" and "${caller}" have the same token: give each caller its own (openssl rand -hex 32)`,
      );
    }
    callerOfToken.set(token, caller);
  }

  const oidc = readOidc(env, fail);
  const mode = env.ATLAS_AUTH?.trim();
  if (mode !== undefined && mode !== '' && mode !== 'none') {
    fail(
      'ATLAS_AUTH',
      `"${mode}" is not supported: the only value is "none" (no caller authentication, loopback only)`,
    );
  }
  const oidcRequested = OIDC_VARIABLES.some((name) => (env[name]?.trim() ?? '') !== '');
  return Object.freeze({ accessTokens: Object.freeze(accessTokens), oidc, none: mode === 'none', oidcRequested });
}

/**
 * `name=token`: a caller name, "=" and the token. Anything else is a bare
 * token, so a token that itself holds "=" (base64 padding) still reads as one
 * unless what precedes its first "=" is a caller name.
 */
function readNamedToken(entry: string): AccessToken | undefined {
  const equals = entry.indexOf('=');
  if (equals <= 0) return undefined;
  const caller = entry.slice(0, equals).trim();
  const token = entry.slice(equals + 1).trim();
  return CALLER_NAME.test(caller) && token !== '' ? { caller, token } : undefined;
}

function readOidc(env: Env, fail: (where: string, message: string) => void): OidcSettings | undefined {
  const issuer = env.ATLAS_OIDC_ISSUER?.trim() ?? '';
  const audience = env.ATLAS_OIDC_AUDIENCE?.trim() ?? '';
  const jwks = env.ATLAS_OIDC_JWKS_URL?.trim() ?? '';
  if (issuer === '' && audience === '' && jwks === '') return undefined;
  const missing = (
    [
      ['ATLAS_OIDC_ISSUER', issuer],
      ['ATLAS_OIDC_AUDIENCE', audience],
      ['ATLAS_OIDC_JWKS_URL', jwks],
    ] as const
  ).filter(([, value]) => value === '');
  for (const [name] of missing) {
    fail(name, 'is required when any ATLAS_OIDC_* variable is set (issuer, audience and JWKS URL go together)');
  }
  if (missing.length > 0) return undefined;
  const problem = describeJwksUrlProblem(jwks);
  if (problem !== undefined) {
    fail('ATLAS_OIDC_JWKS_URL', problem);
    return undefined;
  }
  const jwksUrl = new URL(jwks);
  return Object.freeze({ issuer, audience, jwksUrl });
}

/** What is wrong with a JWKS URL, or undefined: it must be absolute and https (http for loopback only). */
export function describeJwksUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not an absolute URL, such as https://issuer.example.com/.well-known/jwks.json`;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    return `"${value}" must use https (plain http is accepted for loopback addresses only)`;
  }
  return undefined;
}

const DIMENSION_VALUE = /^[\x21-\x7e]{1,255}$/;

function readMetrics(env: Env, port: number, fail: (where: string, message: string) => void): MetricsSettings {
  const service = env[SERVICE_VARIABLE]?.trim() || DEFAULT_SERVICE;
  if (!DIMENSION_VALUE.test(service)) {
    fail(
      SERVICE_VARIABLE,
      `"${service}" is not a dimension value: use printable ASCII without spaces, such as "atlas-prod"`,
    );
  }
  const intervalMs = readInteger(env, 'ATLAS_METRICS_INTERVAL_MS', 60_000, 100, 3_600_000, fail);
  const rawAdminPort = env.ATLAS_ADMIN_PORT?.trim();
  let admin: MetricsSettings['admin'];
  if (rawAdminPort !== undefined && rawAdminPort !== '') {
    const adminPort = readInteger(env, 'ATLAS_ADMIN_PORT', 9090, 0, 65_535, fail);
    if (adminPort !== 0 && adminPort === port) {
      fail(
        'ATLAS_ADMIN_PORT',
        `${adminPort} is the public PORT too: metrics are never served on the public port; choose another, such as 9090`,
      );
    }
    admin = { port: adminPort, host: env.ATLAS_ADMIN_HOST?.trim() || '127.0.0.1' };
  }
  return Object.freeze({ service, intervalMs, admin });
}

function readInteger(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
  fail: (where: string, message: string) => void,
): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(name, `"${raw}" is not a whole number from ${min} to ${max}, such as ${fallback}`);
    return fallback;
  }
  return value;
}
