/**
 * The grammar of an adapter's access rules: who (`callers`) and where
 * (`paths`). Parsing lives here, beside the schema that reports its errors;
 * the decision for a request is `authorize` (auth/authorize.ts).
 */

/** Caller names: lower-case letters, digits and "-" (as in ATLAS_ACCESS_TOKENS). */
export const CALLER_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export type CallerPattern =
  | { readonly kind: 'any' }
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'subject'; readonly subject: string }
  | { readonly kind: 'claim'; readonly claim: string; readonly value: string };

/** A caller pattern, or a message saying what is wrong with it and what to write instead. */
export function parseCallerPattern(text: string): CallerPattern | string {
  if (text === '*') return { kind: 'any' };
  if (text.startsWith('sub:')) {
    const subject = text.slice(4);
    return subject === ''
      ? `"${text}" names no subject: write sub:<subject>, such as "sub:auth0|42"`
      : { kind: 'subject', subject };
  }
  if (text.startsWith('claim:')) {
    const equals = text.indexOf('=');
    const claim = equals === -1 ? '' : text.slice(6, equals);
    const value = equals === -1 ? '' : text.slice(equals + 1);
    return claim === '' || value === ''
      ? `"${text}" is not a claim rule: write claim:<name>=<value>, such as "claim:groups=ops"`
      : { kind: 'claim', claim, value };
  }
  return CALLER_NAME.test(text)
    ? { kind: 'name', name: text }
    : `"${text}" is not a caller: use a static caller's name (lower-case letters, digits and "-", such as "ci"), sub:<subject>, claim:<name>=<value> or "*"`;
}

/** One segment of a path pattern: a literal, `*` (one segment) or `**` (any number of segments). */
export type PathSegmentPattern = string | typeof ONE_SEGMENT | typeof ANY_SEGMENTS;
export const ONE_SEGMENT = Symbol('*');
export const ANY_SEGMENTS = Symbol('**');

/** What a literal segment may hold: RFC 3986 path characters, unencoded, no "*". */
const LITERAL_SEGMENT = /^[A-Za-z0-9\-._~!$&'()+,;=:@]+$/;

/** A path pattern's segments, or a message saying what is wrong with it. */
export function parsePathPattern(text: string): PathSegmentPattern[] | string {
  const example = 'such as "/apps/*/config-vars" or "/apps/**"';
  if (!text.startsWith('/')) return `"${text}" must start with "/", ${example}`;
  if (text === '/') return [];
  const segments: PathSegmentPattern[] = [];
  for (const segment of text.slice(1).split('/')) {
    if (segment === '**') segments.push(ANY_SEGMENTS);
    else if (segment === '*') segments.push(ONE_SEGMENT);
    else if (segment === '')
      return `"${text}" has an empty segment ("//" or a trailing "/"): write it without, ${example}`;
    else if (segment.includes('*')) {
      return `"${text}": "*" and "**" stand for whole segments only (between slashes), ${example}`;
    } else if (segment === '.' || segment === '..') return `"${text}" has a dot segment, which is never forwarded`;
    else if (!LITERAL_SEGMENT.test(segment)) {
      return `"${text}" has a character a path pattern cannot match ("%", "?", "#", a space or a control character): write path characters as they are, ${example}`;
    } else segments.push(segment);
  }
  return segments;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * The form a path is both matched and forwarded in (RFC 3986 §6.2.2):
 * percent-encoded unreserved characters decoded (`%61pps` is `apps`), every
 * other percent-encoding in upper case (`%2f` is `%2F`). An encoding trick
 * therefore cannot make the path a rule sees differ from the one the
 * upstream gets.
 */
export function normalizePath(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(/%([0-9A-Fa-f]{2})/g, (encoded, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : encoded.toUpperCase();
  });
}

/** An encoded slash or backslash: a separator to some upstreams, so never "one segment". */
const ENCODED_SEPARATOR = /%2F|%5C/;

/**
 * Whether a normalized path ("" or "/…") matches a pattern. `*` matches one
 * non-empty segment without an encoded separator; `**` matches any number of
 * segments, none included; literals match exactly (case-sensitive).
 */
export function matchPath(pattern: readonly PathSegmentPattern[], path: string): boolean {
  const segments = path === '' || path === '/' ? [] : path.slice(1).split('/');
  return matchFrom(pattern, 0, segments, 0);
}

function matchFrom(pattern: readonly PathSegmentPattern[], p: number, segments: readonly string[], s: number): boolean {
  for (; p < pattern.length; p++) {
    const want = pattern[p]!;
    if (want === ANY_SEGMENTS) {
      // Patterns are a few segments long: trying each split is cheap.
      for (let rest = s; rest <= segments.length; rest++) {
        if (matchFrom(pattern, p + 1, segments, rest)) return true;
      }
      return false;
    }
    if (s >= segments.length) return false;
    const segment = segments[s]!;
    if (want === ONE_SEGMENT ? segment === '' || ENCODED_SEPARATOR.test(segment) : segment !== want) return false;
    s++;
  }
  return s === segments.length;
}
