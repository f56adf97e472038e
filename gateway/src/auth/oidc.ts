import { createRemoteJWKSet, decodeJwt, type JWTPayload, jwtVerify } from 'jose';
import type { OidcSettings } from '../settings';

/**
 * Only asymmetric algorithms: a JWKS publishes public keys, and accepting
 * HS* would let anyone sign with a public key as the HMAC secret. `none` is
 * never accepted.
 */
const ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** Verifies a JWT (signature, iss, aud, exp, nbf; sub required) and resolves to its claims. */
export function createOidcVerifier(settings: OidcSettings): (token: string) => Promise<JWTPayload> {
  const keys = createRemoteJWKSet(settings.jwksUrl, {
    timeoutDuration: 5_000,
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
  });
  return async (token) => {
    const { payload } = await jwtVerify(token, keys, {
      issuer: settings.issuer,
      audience: settings.audience,
      algorithms: ALGORITHMS,
      requiredClaims: ['exp', 'sub'],
      clockTolerance: 30,
    });
    return payload;
  };
}

/**
 * Verifies a JWT against several issuers (see `createOidcVerifier`) and
 * resolves to its claims if one of them accepts it. The token's own `iss`
 * (read before verification, to pick the issuer only) decides which are
 * tried: a token is never sent to the JWKS of an issuer it does not name.
 */
export function createIssuersVerifier(issuers: readonly OidcSettings[]): (token: string) => Promise<JWTPayload> {
  const verifiers = issuers.map((settings) => ({ issuer: settings.issuer, verify: createOidcVerifier(settings) }));
  return async (token) => {
    const claimed = decodeJwt(token).iss;
    const candidates = verifiers.filter(({ issuer }) => issuer === claimed);
    if (candidates.length === 0) throw new Error(`no identity provider has issuer ${JSON.stringify(claimed)}`);
    if (candidates.length === 1) return candidates[0]!.verify(token);
    // The same issuer listed with several audiences: any of them may accept.
    return Promise.any(candidates.map(({ verify }) => verify(token))).catch((error: AggregateError) => {
      throw error.errors[0] as Error;
    });
  };
}
