/**
 * A small client for the Atlas gateway with `fetch` semantics, for scripts
 * and browser canvases:
 *
 *   const atlas = createAtlasClient({ url: 'https://atlas.example.com', token });
 *   const res = await atlas.fetch('/v1/apis/http/heroku/account');
 *
 * It resolves paths against the gateway URL, sends the token, and refuses
 * absolute URLs to any other origin, so the token never goes elsewhere.
 */
export interface AtlasClientOptions {
  /** The gateway's base URL, such as `https://atlas.example.com`. */
  readonly url: string;
  /** The caller's Atlas access token. */
  readonly token: string;
  /** The fetch to use; the global one by default. */
  readonly fetch?: typeof fetch;
}

export interface AtlasClient {
  fetch(path: string | URL, init?: RequestInit): Promise<Response>;
}

export function createAtlasClient(options: AtlasClientOptions): AtlasClient {
  const base = new URL(options.url);
  if (base.protocol !== 'https:' && base.protocol !== 'http:')
    throw new TypeError(`Atlas URL must be http(s): ${options.url}`);
  if (options.token === '') throw new TypeError('Atlas token is empty');
  const doFetch = options.fetch ?? globalThis.fetch;
  return {
    // async, so a bad path rejects as fetch's own errors do instead of throwing.
    async fetch(path, init = {}) {
      const target = resolveGatewayUrl(base, path);
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${options.token}`);
      return doFetch(target, { ...init, headers });
    },
  };
}

/**
 * Resolves a gateway path such as `/v1/apis` below the gateway URL, keeping
 * a path prefix the gateway is served under (`https://host/atlas` +
 * `/v1/apis` = `https://host/atlas/v1/apis`). An absolute URL is used as
 * given, and only if it points at the gateway's own origin.
 */
export function resolveGatewayUrl(base: URL, path: string | URL): URL {
  const raw = String(path);
  const absolute = path instanceof URL || /^[a-z][a-z0-9+.-]*:/i.test(raw) || /^[\\/]{2}/.test(raw);
  const target = absolute
    ? new URL(raw, base)
    : new URL(`${base.pathname.replace(/\/+$/, '')}/${raw.replace(/^\/+/, '')}`, base);
  if (target.origin !== base.origin) {
    throw new TypeError(`refusing to send the Atlas token to ${target.origin}: only ${base.origin} is allowed`);
  }
  return target;
}

let defaultClient: AtlasClient | undefined;

/** Sets the client `atlasProxyFetch` uses. */
export function configureAtlas(options: AtlasClientOptions): void {
  defaultClient = createAtlasClient(options);
}

/**
 * `fetch` through the gateway: `atlasProxyFetch('/v1/apis/http/heroku/account')`.
 * Uses the client given to `configureAtlas`, else (in Node) ATLAS_URL and ATLAS_TOKEN.
 */
export async function atlasProxyFetch(path: string | URL, init?: RequestInit): Promise<Response> {
  if (defaultClient === undefined) {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    const url = env?.ATLAS_URL;
    const token = env?.ATLAS_TOKEN;
    if (!url || !token) {
      throw new Error('atlasProxyFetch: call configureAtlas({ url, token }) first, or set ATLAS_URL and ATLAS_TOKEN');
    }
    defaultClient = createAtlasClient({ url, token });
  }
  return defaultClient.fetch(path, init);
}
