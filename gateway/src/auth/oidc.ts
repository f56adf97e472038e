import { createRemoteJWKSet, jwtVerify } from 'jose';
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

/** Verifies a JWT (signature, iss, aud, exp, nbf) and resolves to its subject. */
export function createOidcVerifier(settings: OidcSettings): (token: string) => Promise<string> {
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
    return payload.sub!;
  };
}
