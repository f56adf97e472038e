import { IncomingMessage } from 'node:http';
import type { Caller } from '../auth/caller';

/** What the gateway learns about one request, for its log line and its metrics. */
export interface RequestContext {
  /** Set by the request logger, which runs first for every request. */
  requestId: string | undefined;
  /** When the request arrived (performance.now()). */
  startedAt: number;
  /** The request target as received: routing rewrites req.url later. */
  target: string;
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

/**
 * The requests the gateway's server creates: the context lives in fields
 * of the request itself, declared here so that every request has the same
 * shape from the start, rather than in an object or a map beside it.
 */
export class GatewayRequest extends IncomingMessage implements RequestContext {
  requestId: string | undefined = undefined;
  startedAt = 0;
  target = '';
  caller: Caller | undefined = undefined;
  adapter: string | undefined = undefined;
  error: AtlasErrorSummary | undefined = undefined;
  upstreamSentAt: number | undefined = undefined;
}

/** The request's context, or undefined before the request logger has run. */
export function findRequestContext(req: IncomingMessage): RequestContext | undefined {
  const context = req as IncomingMessage & Partial<RequestContext>;
  return context.requestId === undefined ? undefined : (context as RequestContext);
}

/** The request's context, set by the request logger, which runs first for every request. */
export function getRequestContext(req: IncomingMessage): RequestContext {
  const context = findRequestContext(req);
  if (context === undefined) throw new Error('request context missing: logRequests() must run first');
  return context;
}
