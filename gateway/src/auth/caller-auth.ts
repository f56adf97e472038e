import type { ConfigProblem } from '../config/config-error';
import type { UnsupportedProvider } from '../config/identity-providers';
import { type AccessToken, type AuthSettings, isLoopbackHost, type OidcSettings } from '../settings';

/** Who may call: what the authenticator checks. */
export interface CallerAuth {
  /** Static caller tokens and their callers' names. Never log the tokens. */
  readonly accessTokens: readonly AccessToken[];
  /** JWT issuers: a token is accepted if one of them verifies it. */
  readonly issuers: readonly OidcSettings[];
  /** No caller authentication at all (ATLAS_AUTH=none with nothing configured, loopback only). */
  readonly disabled: boolean;
}

export interface ResolvedCallerAuth {
  readonly auth: CallerAuth;
  readonly problems: readonly ConfigProblem[];
  readonly warnings: readonly string[];
}

/**
 * Decides the caller authentication from the environment and the config
 * file's identity providers, which add up: static tokens, the ATLAS_OIDC_*
 * issuer and every `auth0` provider. ATLAS_AUTH=none matters only when none
 * of them is configured, and then only on a loopback HOST. A provider type
 * the gateway cannot verify is refused, except on loopback where it is a
 * warning: ignoring it silently would misstate who may call. `config` is
 * undefined when the config file could not be read (its problems are
 * reported elsewhere, and whether it configures callers is unknown).
 */
export function resolveCallerAuth(
  settings: AuthSettings,
  host: string,
  config:
    { readonly issuers: readonly OidcSettings[]; readonly unsupported: readonly UnsupportedProvider[] } | undefined,
): ResolvedCallerAuth {
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const local = isLoopbackHost(host);
  const issuers = [...(settings.oidc ? [settings.oidc] : []), ...(config?.issuers ?? [])];
  const configured = settings.accessTokens.length > 0 || issuers.length > 0;

  for (const { type, where } of config?.unsupported ?? []) {
    const message = `identity provider type "${type}" is not supported (the gateway verifies auth0 providers: issuer, audience, publicKey)`;
    if (local) warnings.push(`${where}: ${message}; its callers are refused`);
    else problems.push({ where, message: `${message}: replace it with an auth0 entry or remove it` });
  }
  const disabled = !configured && settings.none;
  // Half-set OIDC variables are reported already; "nothing configured" would only add noise.
  if (!configured && !settings.none && !settings.oidcRequested && config !== undefined) {
    problems.push({
      where: 'ATLAS_ACCESS_TOKENS',
      message:
        'no caller authentication is configured: set ATLAS_ACCESS_TOKENS (comma-separated NAME=TOKEN entries, or bare tokens), ATLAS_OIDC_ISSUER, ATLAS_OIDC_AUDIENCE and ATLAS_OIDC_JWKS_URL, or spec.identityProviders in an Atlas config; for local use only, ATLAS_AUTH=none turns authentication off',
    });
  }
  if (disabled && !local) {
    problems.push({
      where: 'ATLAS_AUTH',
      message: `"none" is refused because HOST=${host} is not a loopback address: configure ATLAS_ACCESS_TOKENS, OIDC or identity providers, or listen on 127.0.0.1`,
    });
  }
  return { auth: Object.freeze({ accessTokens: settings.accessTokens, issuers, disabled }), problems, warnings };
}
