import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AtlasError } from '../http/errors';
import { detectCrossSiteRequest } from '../http/cross-site';
import { ANONYMOUS, type Caller, jwtCaller, namedCaller } from './caller';
import type { CallerAuth } from './caller-auth';
import type { createIssuersVerifier } from './oidc';

/**
 * The caller (at once for a static token, as a promise for a JWT), or
 * throws/rejects with `unauthorized`.
 */
export type Authenticate = (req: IncomingMessage) => Caller | Promise<Caller>;

const CHALLENGE = { 'www-authenticate': 'Bearer realm="atlas"' };

/**
 * Builds the caller check: static tokens compared in constant time, then
 * JWTs of the configured issuers. A token is read from `Authorization: Bearer`
 * or, as Atlas callers send it, from `Atlas-Accesstoken`.
 */
export function createAuthenticator(settings: CallerAuth): Authenticate {
  if (settings.disabled) {
    return (req) => {
      assertLocalCaller(req);
      return ANONYMOUS;
    };
  }

  // Only digests are kept: equal length makes the comparison constant time,
  // and a digest prefix serves as a non-reversible fingerprint in the logs.
  const tokenDigests = settings.accessTokens.map(({ token }) => sha256(token));
  const tokenCallers = settings.accessTokens.map(({ caller }) => namedCaller(caller));
  const verifyJwt = settings.issuers.length > 0 ? loadIssuersVerifier()(settings.issuers) : undefined;

  return (req) => {
    const token = readToken(req);
    if (token === undefined) {
      throw new AtlasError(
        'unauthorized',
        'Missing credentials: send "Authorization: Bearer <token>" or "Atlas-Accesstoken: <token>".',
        { headers: CHALLENGE },
      );
    }
    const digest = sha256(token);
    // Every digest is compared, whichever matches: the time taken says nothing about which.
    let matched = -1;
    for (let index = 0; index < tokenDigests.length; index++) {
      if (timingSafeEqual(digest, tokenDigests[index]!)) matched = index;
    }
    if (matched !== -1) return tokenCallers[matched]!;

    if (verifyJwt !== undefined && isJwtShaped(token)) {
      return verifyJwt(token).then(
        (claims) => jwtCaller(claims),
        (error: unknown) => {
          throw new AtlasError('unauthorized', 'The token is not valid.', { cause: error, headers: CHALLENGE });
        },
      );
    }
    throw new AtlasError('unauthorized', 'The token is not valid.', { headers: CHALLENGE });
  };
}

/**
 * Without authentication (loopback only), the adapters' credentials are one
 * request away for anything that can reach 127.0.0.1, including web pages in
 * a local browser. Refuse what a browser sends on another site's behalf:
 * a foreign Host (DNS rebinding) or a foreign Origin / cross-site fetch (CSRF).
 */
function assertLocalCaller(req: IncomingMessage): void {
  if (detectCrossSiteRequest(req.headers) !== undefined) {
    throw new AtlasError(
      'unauthorized',
      'Without caller authentication (ATLAS_AUTH=none) the gateway only serves local clients addressing it as localhost or 127.0.0.1, not web pages of other sites.',
    );
  }
}

/** jose loads only when JWT issuers are configured: it is a large part of the gateway's start-up time. */
function loadIssuersVerifier(): typeof createIssuersVerifier {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./oidc') as { createIssuersVerifier: typeof createIssuersVerifier }).createIssuersVerifier;
}

/**
 * The caller's token: `Authorization: Bearer <token>`, `Atlas-Accesstoken:
 * <token>`, or HTTP Basic as API SDKs send a token (heroku-client: an empty
 * user and the token as password; GitHub-style: the token as user and an
 * empty password). Other Basic credentials are refused, saying which forms
 * are accepted.
 */
function readToken(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  if (authorization !== undefined && authorization.length > 7) {
    if (/^bearer /i.test(authorization)) {
      const token = authorization.slice(7).trim();
      if (token !== '') return token;
    } else if (/^basic /i.test(authorization)) {
      return readBasicToken(authorization.slice(6).trim());
    }
  }
  const atlasToken = req.headers['atlas-accesstoken'];
  if (typeof atlasToken === 'string' && atlasToken.trim() !== '') return atlasToken.trim();
  return undefined;
}

const BASIC_FORMS =
  'Basic credentials must carry the Atlas token either as the password with an empty user (":<token>") or as the user with an empty password ("<token>:").';

function readBasicToken(encoded: string): string {
  const decoded = /^[A-Za-z0-9+/]+=*$/.test(encoded) ? Buffer.from(encoded, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  const user = colon === -1 ? '' : decoded.slice(0, colon);
  const password = colon === -1 ? '' : decoded.slice(colon + 1);
  if (user === '' && password !== '') return password;
  if (password === '' && user !== '') return user;
  throw new AtlasError('unauthorized', BASIC_FORMS, { headers: CHALLENGE });
}

function isJwtShaped(token: string): boolean {
  const first = token.indexOf('.');
  return first > 0 && token.indexOf('.', first + 1) > first + 1 && token.split('.').length === 3;
}

/** One call, no Hash object: this runs for every request. */
function sha256(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}
