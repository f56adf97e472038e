import { describeJwksUrlProblem, type OidcSettings } from '../settings';
import type { ConfigProblem } from './config-error';
import type { PathSegment } from './validate-adapters';

/** An `identityProviders` entry of a type this gateway cannot verify. */
export interface UnsupportedProvider {
  readonly type: string;
  /** Where it is written, for the message that reports it. */
  readonly where: string;
}

export interface IdentityProviders {
  /** JWT issuers callers may present tokens of, as `ATLAS_OIDC_*` describes one. */
  readonly issuers: readonly OidcSettings[];
  readonly unsupported: readonly UnsupportedProvider[];
  readonly problems: readonly ConfigProblem[];
}

/** The provider types the gateway verifies, with the fields each needs. */
const AUTH0_FIELDS = ['issuer', 'audience', 'publicKey'] as const;

/**
 * Reads an Atlas config's `spec.identityProviders`: a list of one-key maps
 * naming the provider type. An `auth0:` entry (`issuer`, `audience`, and
 * `publicKey`, the issuer's JWKS URL) is a JWT issuer. Other types are
 * returned as unsupported, never dropped: ignoring one would leave its
 * callers out, or let the caller think access is narrower than it is.
 */
export function readIdentityProviders(value: unknown, where: (path: PathSegment[]) => string): IdentityProviders {
  const issuers: OidcSettings[] = [];
  const unsupported: UnsupportedProvider[] = [];
  const problems: ConfigProblem[] = [];
  if (value === undefined || value === null) return { issuers, unsupported, problems };
  if (!Array.isArray(value)) {
    problems.push({
      where: where([]),
      message: 'must be a list of providers such as "- auth0: {issuer, audience, publicKey}"',
    });
    return { issuers, unsupported, problems };
  }
  value.forEach((entry: unknown, index) => {
    const keys = isRecord(entry) ? Object.keys(entry) : [];
    if (!isRecord(entry) || keys.length !== 1) {
      problems.push({
        where: where([index]),
        message: 'each provider is a map with one key naming its type, such as "auth0: {issuer, audience, publicKey}"',
      });
      return;
    }
    const type = keys[0]!;
    if (type !== 'auth0') {
      unsupported.push({ type, where: where([index, type]) });
      return;
    }
    const fields = entry[type];
    const missing = AUTH0_FIELDS.filter(
      (field) => !isRecord(fields) || typeof fields[field] !== 'string' || fields[field].trim() === '',
    );
    if (!isRecord(fields) || missing.length > 0) {
      problems.push({
        where: where([index, type]),
        message: `an auth0 provider needs ${missing.map((field) => `"${field}"`).join(', ')}: issuer (the token's iss), audience (its aud) and publicKey (the issuer's JWKS URL, such as https://example.us.auth0.com/.well-known/jwks.json)`,
      });
      return;
    }
    const jwks = (fields.publicKey as string).trim();
    const problem = describeJwksUrlProblem(jwks);
    if (problem !== undefined) {
      problems.push({ where: where([index, type, 'publicKey']), message: problem });
      return;
    }
    issuers.push(
      Object.freeze({
        issuer: (fields.issuer as string).trim(),
        audience: (fields.audience as string).trim(),
        jwksUrl: new URL(jwks),
      }),
    );
  });
  return { issuers, unsupported, problems };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
