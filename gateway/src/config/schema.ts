import { z } from 'zod';
import { HOP_BY_HOP_HEADERS } from '../http/hop-by-hop';
import { CALLER_NAME, parseCallerPattern, parsePathPattern } from './access-rules';
import { findMalformedPlaceholder, findPlaceholders } from './placeholders';

/**
 * The adapter model, written once: the gateway validates its start-up config
 * with it, the Pulumi program validates the stack config with it and the CLI
 * validates files with it.
 */

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_BODY_IDLE_TIMEOUT_MS = 60_000;

/** Header names the gateway owns: an adapter may not set them. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'expect', ...HOP_BY_HOP_HEADERS]);

/** The methods an adapter may forward (and allows all of when `allowedMethods` is left out). */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Variables the gateway or its platform set: substituting them would send
 * the gateway's own settings (caller tokens, AWS credentials endpoints)
 * upstream, or let a secret override them.
 */
const RESERVED_VARIABLE = /^(ATLAS_|AWS_|ECS_|NODE_|npm_)|^(PORT|HOST|PATH|HOME|HOSTNAME|PWD|USER)$/;

export function isReservedVariable(name: string): boolean {
  return RESERVED_VARIABLE.test(name);
}

/** Adapter names have the form of caller names: lower-case letters, digits and "-". */
const ADAPTER_NAME = CALLER_NAME;
/** A DNS name of two labels or more, lower case (RFC 1123 labels). */
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// RFC 9110 field-value: visible ASCII, obs-text, spaces and tabs; never CR, LF or NUL.
export const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export const adapterHeaderSchema = z.strictObject({
  name: z
    .string({ error: 'must be a header name such as "Authorization"' })
    .regex(HEADER_NAME, { error: 'must be a header name such as "Authorization" (letters, digits and -)' })
    .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), {
      error: (issue) => `"${String(issue.input)}" is managed by the gateway and cannot be set by an adapter`,
    }),
  value: z
    .string({ error: 'must be a string such as "Bearer ${{ HEROKU_API_KEY }}"' })
    .regex(HEADER_VALUE, { error: 'must not contain line breaks or control characters' })
    .superRefine((value, ctx) => {
      const malformed = findMalformedPlaceholder(value);
      if (malformed !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `has a malformed placeholder near "${malformed}": write \${{ VAR_NAME }} with a name of letters, digits and _`,
        });
      }
      for (const name of findPlaceholders(value)) {
        if (isReservedVariable(name)) {
          ctx.addIssue({
            code: 'custom',
            message: `\${{ ${name} }} names a variable of the gateway or its platform, not a secret of yours: use another name, such as HEROKU_API_KEY`,
          });
        }
      }
    }),
});

const baseUrlSchema = z
  .string({ error: 'must be an absolute http(s) URL such as "https://api.heroku.com"' })
  .superRefine((value, ctx) => {
    const problem = describeBaseUrlProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const methodsSchema = z
  .array(
    z
      .string()
      .transform((method) => method.toUpperCase())
      .pipe(z.enum(HTTP_METHODS, { error: `must be one of ${HTTP_METHODS.join(', ')}` })),
  )
  .min(1, { error: 'must list at least one method, or be left out to allow all' });

/** A string that `parse` accepts; its message otherwise. */
function parsedString(parse: (text: string) => unknown, expected: string) {
  return z.string({ error: `must be a string ${expected}` }).superRefine((text, ctx) => {
    const parsed = parse(text);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
  });
}

/** One access rule: who may call, and optionally with which methods and on which paths. */
export const accessRuleSchema = z.strictObject({
  callers: z
    .array(parsedString(parseCallerPattern, 'such as "ci", "sub:auth0|42" or "claim:groups=ops"'), {
      error: 'must be a list of callers such as [ci, "claim:groups=ops"]',
    })
    .min(1, { error: 'must list at least one caller' }),
  methods: methodsSchema.optional(),
  paths: z
    .array(parsedString(parsePathPattern, 'such as "/apps/*/config-vars"'), {
      error: 'must be a list of path patterns such as ["/apps/*/config-vars"]',
    })
    .min(1, { error: 'must list at least one path pattern, or be left out to allow every path' })
    .optional(),
});

export const rateLimitSchema = z.strictObject({
  requests: z
    .number({ error: 'must be a number of requests such as 100' })
    .int({ error: 'must be a whole number of requests such as 100' })
    .min(1, { error: 'must be at least 1' }),
  perSeconds: z
    .number({ error: 'must be a number of seconds such as 60' })
    .int({ error: 'must be a whole number of seconds such as 60' })
    .min(1, { error: 'must be at least 1' })
    .max(86_400, { error: 'must be at most 86400 (a day)' }),
  burst: z
    .number({ error: 'must be a number of requests such as 20' })
    .int({ error: 'must be a whole number of requests such as 20' })
    .min(1, { error: 'must be at least 1' })
    .optional(),
});

export const adapterSchema = z.strictObject({
  name: z.string({ error: 'must be a name such as "heroku"' }).regex(ADAPTER_NAME, {
    error: (issue) =>
      `"${String(issue.input)}" is not a valid adapter name: use lower-case letters, digits and "-" (at most 63), such as "heroku"`,
  }),
  baseUrl: baseUrlSchema,
  headers: z.array(adapterHeaderSchema).default([]),
  allowedMethods: methodsSchema.optional(),
  timeoutMs: z
    .number({ error: 'must be a number of milliseconds such as 30000' })
    .int()
    .min(1)
    .max(600_000, { error: 'must be at most 600000 (10 minutes)' })
    .default(DEFAULT_TIMEOUT_MS),
  hostnames: z
    .array(
      z
        .string({ error: 'must be a host name such as "heroku.atlas.example.com"' })
        .transform((name) => name.toLowerCase())
        .pipe(
          z.string().regex(HOSTNAME, {
            error: (issue) =>
              `"${String(issue.input)}" is not a host name: use a DNS name such as "heroku.atlas.example.com" (no scheme, port or path)`,
          }),
        ),
    )
    .min(1, { error: 'must list at least one host name, or be left out' })
    .optional(),
  bodyIdleTimeoutMs: z
    .number({ error: 'must be a number of milliseconds such as 60000' })
    .int()
    .min(1)
    .max(600_000, { error: 'must be at most 600000 (10 minutes)' })
    .default(DEFAULT_BODY_IDLE_TIMEOUT_MS),
  access: z
    .array(accessRuleSchema, { error: 'must be a list of rules such as [{ callers: [ci], methods: [GET] }]' })
    .min(1, { error: 'must list at least one rule, or be left out to let every authenticated caller in' })
    .optional(),
  rateLimit: rateLimitSchema.optional(),
});

export const adaptersSchema = z.array(adapterSchema).superRefine((adapters, ctx) => {
  const seen = new Map<string, number>();
  const hosts = new Map<string, string>();
  adapters.forEach((adapter, index) => {
    (adapter.hostnames ?? []).forEach((hostname, at) => {
      const owner = hosts.get(hostname);
      if (owner === undefined) hosts.set(hostname, adapter.name);
      else {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'hostnames', at],
          message: `host name "${hostname}" is already served by adapter "${owner}": host names must be unique across adapters`,
        });
      }
    });
    const first = seen.get(adapter.name);
    if (first === undefined) {
      seen.set(adapter.name, index);
    } else {
      ctx.addIssue({
        code: 'custom',
        path: [index, 'name'],
        message: `duplicate adapter name "${adapter.name}" (also at index ${first}): adapter names must be unique`,
      });
    }
  });
});

/** A deployment's static callers (the stack config's `atlas:callers`): names, each once. */
export const callersSchema = z
  .array(
    z.string({ error: 'must be a caller name such as "ci"' }).regex(CALLER_NAME, {
      error: (issue) =>
        `"${String(issue.input)}" is not a valid caller name: use lower-case letters, digits and "-" (at most 63), such as "ci"`,
    }),
    { error: 'must be a list of caller names such as [default, ci, ops]' },
  )
  .min(1, { error: 'must list at least one caller, such as [default]' })
  .superRefine((names, ctx) => {
    names.forEach((name, index) => {
      if (names.indexOf(name) !== index) {
        ctx.addIssue({ code: 'custom', path: [index], message: `"${name}" is listed twice: caller names are unique` });
      }
    });
  });

/** Static callers that an adapter's access rules name: `{ adapter, caller }` for each (adapter, name) pair. */
export function findNamedCallers(
  adapters: readonly { readonly name: string; readonly access?: readonly AccessRule[] | undefined }[],
): { adapter: string; caller: string }[] {
  const found: { adapter: string; caller: string }[] = [];
  for (const adapter of adapters) {
    const names = new Set<string>();
    for (const rule of adapter.access ?? []) {
      for (const text of rule.callers) {
        const pattern = parseCallerPattern(text);
        if (typeof pattern !== 'string' && pattern.kind === 'name') names.add(pattern.name);
      }
    }
    for (const caller of names) found.push({ adapter: adapter.name, caller });
  }
  return found;
}

/** An adapter as written in config (input) and after validation (output). */
export type AdapterInput = z.input<typeof adapterSchema>;
export type Adapter = z.output<typeof adapterSchema>;
export type AdapterHeader = z.output<typeof adapterHeaderSchema>;
export type AccessRule = z.output<typeof accessRuleSchema>;
export type RateLimit = z.output<typeof rateLimitSchema>;

function describeBaseUrlProblem(value: string): string | undefined {
  const example = 'such as "https://api.heroku.com" or "https://api.datadoghq.com/api"';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not an absolute URL: use an http(s) URL ${example}`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return `"${value}" must use http or https, ${example}`;
  }
  if (url.username !== '' || url.password !== '') {
    return 'must not carry credentials: put them in a header such as "Authorization: Bearer ${{ API_TOKEN }}"';
  }
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    return `"${value}" must not have a query string or fragment: use a base URL ${example}`;
  }
  return undefined;
}
