import { createHmac } from 'node:crypto';
import http from 'node:http';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { close, listen } from './http';

export type SigningAlgorithm = 'RS256' | 'ES256';

export interface SigningKey {
  readonly alg: SigningAlgorithm;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** The public key as published in the JWKS. */
  readonly publicJwk: JWK;
}

export interface OidcIssuer {
  /** The `iss` the gateway expects: the issuer server's own origin. */
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
  readonly keys: Readonly<Record<SigningAlgorithm, SigningKey>>;
  /** Claims that pass every check: this issuer, this audience, valid now for five minutes. */
  claims(subject: string): JWTPayload;
  /** Signs `payload` as a compact JWS with the issuer's key for `alg`, or with `options.key`. */
  sign(payload: JWTPayload, options?: SignOptions): Promise<string>;
  close(): Promise<void>;
}

export interface SignOptions {
  readonly alg?: SigningAlgorithm;
  /** Defaults to the kid of the issuer's key for `alg`. */
  readonly kid?: string;
  /** Defaults to the issuer's private key for `alg`. */
  readonly key?: CryptoKey;
}

export const OIDC_AUDIENCE = 'atlas-gateway';

export async function createSigningKey(alg: SigningAlgorithm, kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicKey, publicJwk };
}

/**
 * An OpenID provider reduced to what a resource server uses: a JWKS document
 * on 127.0.0.1 publishing one RS256 and one ES256 public key, and the
 * matching private keys to sign tokens with.
 */
export async function startOidcIssuer(): Promise<OidcIssuer> {
  const keys = {
    RS256: await createSigningKey('RS256', 'rsa-key-1'),
    ES256: await createSigningKey('ES256', 'ec-key-1'),
  };
  const jwks = JSON.stringify({ keys: [keys.RS256.publicJwk, keys.ES256.publicJwk] });
  const server = http.createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(jwks) });
      res.end(jwks);
      return;
    }
    res.writeHead(404).end();
  });
  const url = await listen(server);
  const issuer = url;

  return {
    issuer,
    audience: OIDC_AUDIENCE,
    jwksUrl: `${url}/.well-known/jwks.json`,
    keys,
    claims: (subject) => {
      const now = Math.floor(Date.now() / 1000);
      return { iss: issuer, aud: OIDC_AUDIENCE, sub: subject, iat: now, nbf: now, exp: now + 300 };
    },
    sign: (payload, options = {}) => {
      const alg = options.alg ?? 'RS256';
      return new SignJWT(payload)
        .setProtectedHeader({ alg, typ: 'JWT', kid: options.kid ?? keys[alg].kid })
        .sign(options.key ?? keys[alg].privateKey);
    },
    close: () => close(server),
  };
}

function encodeSegment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** An unsigned token (`alg: none`), written by hand because no JWT library will produce one for verification. */
export function unsignedToken(payload: JWTPayload): string {
  return `${encodeSegment({ alg: 'none', typ: 'JWT' })}.${encodeSegment(payload)}.`;
}

/**
 * The key-confusion forgery: an HS256 token whose HMAC secret is the bytes of
 * a published public key, which a verifier that lets the token choose its
 * algorithm would accept.
 */
export function hmacToken(payload: JWTPayload, secret: string | Buffer, kid: string): string {
  const signingInput = `${encodeSegment({ alg: 'HS256', typ: 'JWT', kid })}.${encodeSegment(payload)}`;
  const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

/** The PEM (SPKI) text of a public key, as an attacker would copy it from the JWKS. */
export function publicKeyPem(key: SigningKey): Promise<string> {
  return exportSPKI(key.publicKey);
}
