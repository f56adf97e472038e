import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from './config-error';
import { type Adapter, adaptersSchema, callersSchema } from './schema';

/** A key path into a config: object keys and list indexes. */
export type PathSegment = string | number;

/** Parses and validates the adapters of `ATLAS_ADAPTERS` (a JSON array). */
export function parseAdaptersJson(text: string, source = 'ATLAS_ADAPTERS'): Adapter[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${source} is not valid JSON`, [
      {
        where: source,
        message: `${(error as Error).message}; expected a JSON array such as [{"name":"heroku","baseUrl":"https://api.heroku.com","headers":[]}]`,
      },
    ]);
  }
  return validateAdapters(value, source, (path) => `${source}${formatPath(path)}`);
}

/**
 * Checks adapters against the schema, reporting every problem with the
 * location `where` gives for its path (a file position, a key path...).
 */
export function validateAdapters(value: unknown, source: string, where: (path: PathSegment[]) => string): Adapter[] {
  // reportInput: to tell a missing field from one of the wrong type.
  const result = adaptersSchema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  throw new ConfigError(
    `${source} has invalid adapters`,
    result.error.issues.map((issue) => toProblem(issue, where)),
  );
}

/**
 * Checks a list of caller names (a stack config's `atlas:callers`), given as
 * a list or, as `pulumi config set` stores one, a JSON string.
 */
export function validateCallers(value: unknown, source: string, where: (path: PathSegment[]) => string): string[] {
  let list = value;
  if (typeof value === 'string') {
    try {
      list = JSON.parse(value) as unknown;
    } catch {
      list = value;
    }
  }
  const result = callersSchema.safeParse(list, { reportInput: true });
  if (result.success) return result.data;
  throw new ConfigError(
    `${source} has invalid callers`,
    result.error.issues.map((issue) => toProblem(issue, where)),
  );
}

function toProblem(issue: z.core.$ZodIssue, where: (path: PathSegment[]) => string): ConfigProblem {
  const path = issue.path.filter((segment): segment is PathSegment => typeof segment !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    return {
      where: where(path),
      message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}: ${describeFields(path)}`,
    };
  }
  if (issue.code === 'invalid_type') {
    const message =
      issue.input === undefined
        ? `is required: ${issue.message}`
        : `${describeValue(issue.input)} is not valid: ${issue.message}`;
    return { where: where(path), message };
  }
  return { where: where(path), message: issue.message };
}

/** The fields of the object at `path` (an adapter, or one of its nested objects). */
function describeFields(path: readonly PathSegment[]): string {
  const owner = path.findLast((segment) => typeof segment === 'string');
  switch (owner) {
    case 'headers':
      return 'headers have name and value';
    case 'access':
      return 'access rules have callers, methods and paths';
    case 'rateLimit':
      return 'rateLimit has requests, perSeconds and burst';
    default:
      return 'adapters have name, baseUrl, headers, allowedMethods, hostnames, timeoutMs, bodyIdleTimeoutMs, access and rateLimit';
  }
}

function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

export function formatPath(path: readonly PathSegment[]): string {
  return path.map((segment) => (typeof segment === 'number' ? `[${segment}]` : `.${segment}`)).join('');
}
