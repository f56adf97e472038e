import { InvalidArgumentError } from 'commander';

/** `-H 'Name: value'`, split at the first colon and trimmed, as curl does. */
export function parseHeader(
  raw: string,
  previous: { name: string; value: string }[] = [],
): { name: string; value: string }[] {
  const colon = raw.indexOf(':');
  const name = colon === -1 ? '' : raw.slice(0, colon).trim();
  if (name === '' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
    throw new InvalidArgumentError(
      `"${raw}" is not a header: write -H 'Name: value', such as -H 'Accept: application/json'`,
    );
  }
  return [...previous, { name, value: raw.slice(colon + 1).trim() }];
}
