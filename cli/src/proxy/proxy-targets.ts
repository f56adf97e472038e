import { InvalidArgumentError } from 'commander';
import { adapterSchema } from '@atlas/gateway/config';

/** One local listener: the adapter it serves and the port it asks for (0: any free port). */
export interface ProxyTarget {
  readonly adapter: string;
  readonly port: number;
}

export const DEFAULT_PROXY_PORT = 5000;

/** A `NAME[:PORT]` list that cannot be served as given; the command reports it as a usage error. */
export class ProxyUsageError extends Error {
  override readonly name = 'ProxyUsageError';
}

/** `--port`: a whole number from 0 to 65535. */
export function parsePort(raw: string): number {
  const port = readPort(raw);
  if (port === undefined) {
    throw new InvalidArgumentError(`"${raw}" is not a port: use a whole number from 0 (any free port) to 65535`);
  }
  return port;
}

/**
 * `heroku`, `heroku:5000 github:5001`: one listener per adapter. A bare name
 * takes `defaultPort`; only one may be bare, since two would ask for the same
 * port. An adapter or a port (other than 0) named twice is refused too.
 */
export function parseProxyTargets(specs: readonly string[], defaultPort: number): ProxyTarget[] {
  const targets = specs.map((spec) => parseTarget(spec, defaultPort));
  const bare = specs.filter((spec) => !spec.includes(':'));
  if (bare.length > 1) {
    throw new ProxyUsageError(
      `${bare.join(' and ')} would both listen on port ${defaultPort}: give each its own, such as ${bare
        .map((name, index) => `${name}:${defaultPort + index}`)
        .join(' ')}`,
    );
  }
  const names = new Set<string>();
  const ports = new Map<number, string>();
  for (const { adapter, port } of targets) {
    if (names.has(adapter)) throw new ProxyUsageError(`"${adapter}" is named twice: proxy each adapter once`);
    names.add(adapter);
    const other = ports.get(port);
    if (other !== undefined) {
      throw new ProxyUsageError(`${other} and ${adapter} both ask for port ${port}: give each its own port`);
    }
    if (port !== 0) ports.set(port, adapter);
  }
  return targets;
}

function parseTarget(spec: string, defaultPort: number): ProxyTarget {
  const colon = spec.lastIndexOf(':');
  const adapter = colon === -1 ? spec : spec.slice(0, colon);
  const name = adapterSchema.shape.name.safeParse(adapter);
  if (!name.success) throw new ProxyUsageError(name.error.issues[0]!.message);
  if (colon === -1) return { adapter, port: defaultPort };
  const port = readPort(spec.slice(colon + 1));
  if (port === undefined) {
    throw new ProxyUsageError(
      `"${spec}" does not end in a port: write NAME:PORT with a port from 0 (any free port) to 65535, such as ${adapter}:${DEFAULT_PROXY_PORT}`,
    );
  }
  return { adapter, port };
}

function readPort(raw: string): number | undefined {
  if (!/^\d{1,5}$/.test(raw)) return undefined;
  const port = Number(raw);
  return port <= 65_535 ? port : undefined;
}
