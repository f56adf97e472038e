/** Who is calling, as authentication established it. */
export interface Caller {
  /** How logs and messages name the caller: `token:<name>`, `sub:<subject>` or `anonymous`. */
  readonly id: string;
  /** The caller name of a static token. */
  readonly name?: string;
  /** The subject of a JWT. */
  readonly subject?: string;
  /** The verified claims of a JWT. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** The caller with ATLAS_AUTH=none (loopback only). */
export const ANONYMOUS: Caller = Object.freeze({ id: 'anonymous' });

/** The caller a static token identifies. */
export function namedCaller(name: string): Caller {
  return Object.freeze({ id: `token:${name}`, name });
}

/** The caller a verified JWT identifies. */
export function jwtCaller(claims: Readonly<Record<string, unknown>> & { readonly sub?: unknown }): Caller {
  const subject = String(claims.sub);
  return Object.freeze({ id: `sub:${subject}`, subject, claims: Object.freeze({ ...claims }) });
}
