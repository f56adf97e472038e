import {
  type CallerPattern,
  matchPath,
  parseCallerPattern,
  parsePathPattern,
  type PathSegmentPattern,
} from '../config/access-rules';
import type { AccessRule } from '../config/schema';
import type { Caller } from './caller';

interface CompiledRule {
  readonly callers: readonly CallerPattern[];
  /** Undefined: every method. */
  readonly methods: ReadonlySet<string> | undefined;
  /** Undefined: every path. */
  readonly paths: readonly (readonly PathSegmentPattern[])[] | undefined;
}

/** An adapter's access rules, parsed once at start-up. */
export interface AccessPolicy {
  readonly rules: readonly CompiledRule[];
  /** Some rule restricts paths: the path is then matched, and forwarded, in its normalized form. */
  readonly restrictsPaths: boolean;
}

/** Compiles rules the schema has validated. */
export function compileAccessPolicy(rules: readonly AccessRule[]): AccessPolicy {
  const compiled = rules.map((rule) => ({
    callers: rule.callers.map((text) => parsed(parseCallerPattern(text))),
    // As with allowedMethods, HEAD is GET without the body.
    methods: rule.methods && new Set(rule.methods.includes('GET') ? [...rule.methods, 'HEAD'] : rule.methods),
    paths: rule.paths?.map((text) => parsed(parsePathPattern(text))),
  }));
  return Object.freeze({ rules: compiled, restrictsPaths: compiled.some((rule) => rule.paths !== undefined) });
}

/**
 * Whether `caller` may send `method` to `path` (the path after the adapter,
 * normalized as it is forwarded): some rule must match all three.
 */
export function authorize(policy: AccessPolicy, caller: Caller, method: string, path: string): boolean {
  return policy.rules.some(
    (rule) =>
      matchesCaller(rule.callers, caller) &&
      (rule.methods === undefined || rule.methods.has(method)) &&
      (rule.paths === undefined || rule.paths.some((pattern) => matchPath(pattern, path))),
  );
}

/** Whether some rule names `caller`, whatever its methods and paths: the adapter is then listed to it. */
export function mayUse(policy: AccessPolicy, caller: Caller): boolean {
  return policy.rules.some((rule) => matchesCaller(rule.callers, caller));
}

function matchesCaller(patterns: readonly CallerPattern[], caller: Caller): boolean {
  return patterns.some((pattern) => {
    switch (pattern.kind) {
      case 'any':
        return true;
      case 'name':
        return caller.name === pattern.name;
      case 'subject':
        return caller.subject === pattern.subject;
      case 'claim':
        return caller.claims !== undefined && claimHolds(caller.claims[pattern.claim], pattern.value);
    }
  });
}

/** A claim holds a value if it is that value (a string, number or boolean) or a list containing it (groups, roles). */
function claimHolds(claim: unknown, value: string): boolean {
  if (Array.isArray(claim)) return claim.some((item) => isScalar(item) && String(item) === value);
  return isScalar(claim) && String(claim) === value;
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function parsed<T>(result: T | string): T {
  if (typeof result === 'string') throw new Error(`invalid access rule reached the gateway: ${result}`);
  return result;
}
