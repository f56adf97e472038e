import { findPlaceholders, substitutePlaceholders } from './placeholders';
import { type AccessPolicy, compileAccessPolicy } from '../auth/authorize';
import { type Adapter, HEADER_VALUE, type RateLimit } from './schema';

/** An adapter ready to serve: secrets substituted, target parsed, lookups precomputed. */
export interface ResolvedAdapter {
  readonly name: string;
  readonly baseUrl: string;
  /** Origin only (scheme, host, port): the one place requests for this adapter go. */
  readonly target: URL;
  /** The base URL's own path, where `/v1/apis/http/<adapter>` goes. */
  readonly ownPath: string;
  /** The base URL's path without a trailing slash ("" for the root): the prefix of every other path. */
  readonly basePath: string;
  /** Header name (lower case) to value, with secrets substituted. Never log these. */
  readonly headers: Readonly<Record<string, string>>;
  readonly allowedMethods: ReadonlySet<string> | undefined;
  /** Host names whose requests this adapter serves at the root (lower case). */
  readonly hostnames: readonly string[];
  readonly timeoutMs: number;
  /** How long the upstream may go silent while sending a response body. */
  readonly bodyIdleTimeoutMs: number;
  /** Who may call it, with which methods, on which paths; undefined: every authenticated caller. */
  readonly access: AccessPolicy | undefined;
  /** Requests per caller over time, in this process; undefined: no limit. */
  readonly rateLimit: RateLimit | undefined;
  /** Set when a referenced secret is missing: the adapter answers 503 with this message. */
  readonly unavailable: string | undefined;
}

/** A `${{ VAR }}` that cannot be substituted. Carries names only, never values. */
export interface SecretProblem {
  readonly adapter: string;
  readonly header: string;
  readonly variable: string;
  readonly reason: 'unset' | 'empty' | 'invalid';
}

export function resolveAdapters(
  adapters: readonly Adapter[],
  env: Readonly<Record<string, string | undefined>>,
): { adapters: ResolvedAdapter[]; problems: SecretProblem[] } {
  const problems: SecretProblem[] = [];
  const resolved = adapters.map((adapter) => {
    const own: SecretProblem[] = [];
    const headers: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const header of adapter.headers) {
      for (const variable of findPlaceholders(header.value)) {
        const value = env[variable];
        if (value === undefined || value === '') {
          own.push({
            adapter: adapter.name,
            header: header.name,
            variable,
            reason: value === undefined ? 'unset' : 'empty',
          });
        } else if (!HEADER_VALUE.test(value)) {
          own.push({ adapter: adapter.name, header: header.name, variable, reason: 'invalid' });
        }
      }
      headers[header.name.toLowerCase()] = substitutePlaceholders(header.value, (name) => env[name] ?? '');
    }
    problems.push(...own);
    const url = new URL(adapter.baseUrl);
    return Object.freeze({
      name: adapter.name,
      baseUrl: adapter.baseUrl,
      target: new URL(url.origin),
      ownPath: url.pathname,
      basePath: url.pathname.replace(/\/+$/, ''),
      headers: Object.freeze(headers),
      // HEAD is GET without the body: allowing GET allows HEAD.
      allowedMethods:
        adapter.allowedMethods &&
        new Set(adapter.allowedMethods.includes('GET') ? [...adapter.allowedMethods, 'HEAD'] : adapter.allowedMethods),
      hostnames: Object.freeze([...(adapter.hostnames ?? [])]),
      timeoutMs: adapter.timeoutMs,
      bodyIdleTimeoutMs: adapter.bodyIdleTimeoutMs,
      access: adapter.access && compileAccessPolicy(adapter.access),
      rateLimit: adapter.rateLimit,
      unavailable: own.length > 0 ? own.map(describeSecretProblem).join('; ') : undefined,
    });
  });
  return { adapters: resolved, problems };
}

/** Where a secret is used: `adapter "heroku", header "Authorization"`. */
export function secretLocation(problem: SecretProblem): string {
  return `adapter "${problem.adapter}", header "${problem.header}"`;
}

/** What is wrong with a secret's variable and how to fix it, naming the variable but never a value. */
export function describeSecretValue(problem: SecretProblem): string {
  const { variable } = problem;
  const fix = `export ${variable}=<value> before starting the gateway (on ECS: pulumi config set --secret ${variable} <value>, then pulumi up)`;
  switch (problem.reason) {
    case 'invalid':
      return `environment variable ${variable} contains a line break or control character (a trailing newline from "echo" is the usual cause); set it again without one`;
    case 'empty':
      return `environment variable ${variable} is set but empty; ${fix}`;
    case 'unset':
      return `environment variable ${variable} is not set; ${fix}`;
  }
}

/** What is wrong and how to fix it, naming the adapter, header and variable but no value. */
export function describeSecretProblem(problem: SecretProblem): string {
  return `${secretLocation(problem)}: ${describeSecretValue(problem)}`;
}
