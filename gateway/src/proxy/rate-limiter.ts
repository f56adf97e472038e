import type { RateLimit } from '../config/schema';

/** What a rate limiter decided for one request. */
export interface RateDecision {
  readonly allowed: boolean;
  /** Whole requests left in the bucket after this one. */
  readonly remaining: number;
  /** Seconds until the bucket is full again. */
  readonly resetSeconds: number;
  /** When refused: seconds until one request is allowed again. */
  readonly retryAfterSeconds: number;
}

export interface RateLimiter {
  /** The `RateLimit-Policy` field value: the bucket's size (`q`) and the seconds it takes to refill (`w`). */
  readonly policy: string;
  /** Takes one request from `key`'s bucket if it has one. */
  take(key: string): RateDecision;
  /** The `RateLimit` field value for a decision. */
  describe(decision: RateDecision): string;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was computed, in ms (monotonic). */
  at: number;
}

/**
 * The policy's name in `RateLimit-Policy` and `RateLimit`: an upstream's own
 * policies (in its own fields, passed through untouched) have other names.
 */
const POLICY = '"atlas"';

/** Above this many buckets, full ones (the same as none) are swept away. */
const SWEEP_ABOVE = 10_000;
/** Never more buckets than this: the oldest go first (each caller then starts afresh with a full bucket). */
const MAX_BUCKETS = 100_000;

/**
 * A token bucket per key (caller): `burst` requests at once (default
 * `requests`), refilled at `requests` per `perSeconds`. Held in this process
 * only: N gateway tasks allow N times the rate.
 */
export function createRateLimiter(limit: RateLimit, now: () => number = () => performance.now()): RateLimiter {
  const capacity = limit.burst ?? limit.requests;
  const perMs = limit.requests / (limit.perSeconds * 1000);
  const refillSeconds = Math.ceil(capacity / perMs / 1000);
  const buckets = new Map<string, Bucket>();

  function sweep(at: number): void {
    for (const [key, bucket] of buckets) {
      if (bucket.tokens + (at - bucket.at) * perMs >= capacity) buckets.delete(key);
    }
    // Map order is insertion order: the first keys are the oldest.
    for (const key of buckets.keys()) {
      if (buckets.size <= MAX_BUCKETS) break;
      buckets.delete(key);
    }
  }

  return {
    policy: `${POLICY};q=${capacity};w=${refillSeconds}`,
    take(key) {
      const at = now();
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        if (buckets.size >= SWEEP_ABOVE) sweep(at);
        bucket = { tokens: capacity, at };
        buckets.set(key, bucket);
      } else {
        bucket.tokens = Math.min(capacity, bucket.tokens + (at - bucket.at) * perMs);
        bucket.at = at;
      }
      const allowed = bucket.tokens >= 1;
      if (allowed) bucket.tokens -= 1;
      return {
        allowed,
        remaining: Math.floor(bucket.tokens),
        resetSeconds: Math.ceil((capacity - bucket.tokens) / perMs / 1000),
        retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)),
      };
    },
    describe(decision) {
      return `${POLICY};r=${decision.remaining};t=${decision.resetSeconds}`;
    },
  };
}
