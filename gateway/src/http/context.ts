import type { IncomingMessage } from 'node:http';
import type { Caller } from '../auth/caller';

/** What the gateway learns about one request, for its log line. */
export interface RequestContext {
  readonly requestId: string;
  readonly startedAt: bigint;
  /** Set once authenticated; logged by its id (`token:<name>`, `sub:<subject>`, `anonymous`). */
  caller: Caller | undefined;
  adapter: string | undefined;
  error: AtlasErrorSummary | undefined;
  /** When the request was sent upstream (performance.now()), for the upstream latency metric. */
  upstreamSentAt: number | undefined;
}

export interface AtlasErrorSummary {
  readonly id: string;
  readonly cause: string | undefined;
}

const CONTEXT = Symbol('atlas.requestContext');

type WithContext = IncomingMessage & { [CONTEXT]?: RequestContext };

export function setRequestContext(req: IncomingMessage, context: RequestContext): void {
  (req as WithContext)[CONTEXT] = context;
}

/** The context set by the request logger, or undefined before it ran. */
export function findRequestContext(req: IncomingMessage): RequestContext | undefined {
  return (req as WithContext)[CONTEXT];
}

/** The context set by the request logger, which runs first for every request. */
export function getRequestContext(req: IncomingMessage): RequestContext {
  const context = (req as WithContext)[CONTEXT];
  if (context === undefined) throw new Error('request context missing: logRequests() must run first');
  return context;
}
