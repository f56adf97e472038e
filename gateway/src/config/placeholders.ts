/**
 * `${{ VAR }}` placeholders in adapter header values. Whitespace inside the
 * braces is optional; VAR is an environment-variable style name.
 */
const PLACEHOLDER = /\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
const PLACEHOLDER_START = '${{';

/** The variable names a value references, in order, without duplicates. */
export function findPlaceholders(value: string): string[] {
  const names = new Set<string>();
  for (const match of value.matchAll(PLACEHOLDER)) names.add(match[1]!);
  return [...names];
}

/**
 * Describes a `${{` that does not open a well-formed placeholder, or returns
 * undefined when every placeholder in the value is well formed.
 */
export function findMalformedPlaceholder(value: string): string | undefined {
  const rest = value.replace(PLACEHOLDER, '');
  const at = rest.indexOf(PLACEHOLDER_START);
  if (at === -1) return undefined;
  return rest.slice(at, at + 40);
}

/** Replaces every placeholder with `lookup(name)`. */
export function substitutePlaceholders(value: string, lookup: (name: string) => string): string {
  return value.replace(PLACEHOLDER, (_match, name: string) => lookup(name));
}
