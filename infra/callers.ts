import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { DEFAULT_CALLER } from '../gateway/src/config';

/**
 * One token per caller, in the order given: the configured one, or a
 * `random.RandomPassword`. The default caller's keeps the resource name stacks
 * had before callers had names (`access-token`): a new name would be a new
 * resource, and so a new token for every existing client. The passwords are
 * top-level resources for the same reason: a parent changes the URN.
 */
export function createCallerTokens(
  callers: ReadonlyMap<string, pulumi.Output<string> | undefined>,
): ReadonlyMap<string, pulumi.Output<string>> {
  const tokens = new Map<string, pulumi.Output<string>>();
  for (const [name, configured] of callers) {
    const resourceName = name === DEFAULT_CALLER ? 'access-token' : `access-token-${name}`;
    tokens.set(name, configured ?? new random.RandomPassword(resourceName, { length: 48, special: false }).result);
  }
  return tokens;
}

/**
 * The value of ATLAS_ACCESS_TOKENS: comma-separated `name=token` entries, the
 * default caller's first and as a bare token. A bare token keeps a stack that
 * has only the default caller at the value it had before callers had names,
 * so upgrading rolls nothing; sorting the others keeps a reordered
 * `atlas:callers` from rolling the tasks. A default token holding "=" is
 * written `default=<token>`: bare, the gateway would read what precedes its
 * "=" as a caller name.
 */
export function formatAccessTokens(tokens: ReadonlyMap<string, pulumi.Output<string>>): pulumi.Output<string> {
  const sorted = [...tokens].sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const names = sorted.map(([name]) => name);
  return pulumi.secret(
    pulumi
      .all(sorted.map(([, token]) => token))
      .apply((values) =>
        values
          .map((token, index) =>
            names[index] === DEFAULT_CALLER && !token.includes('=') ? token : `${names[index]}=${token}`,
          )
          .join(','),
      ),
  );
}

/** Caller name → token, as one secret map. */
export function tokensByCaller(
  tokens: ReadonlyMap<string, pulumi.Output<string>>,
): pulumi.Output<Record<string, string>> {
  const sorted = [...tokens].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return pulumi.secret(pulumi.all(Object.fromEntries(sorted)));
}

function rank(name: string): number {
  return name === DEFAULT_CALLER ? 0 : 1;
}
