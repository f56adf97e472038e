import { createRateLimiter } from '../../gateway/src/proxy/rate-limiter';

/** A clock the test moves by hand, in milliseconds. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let at = 1_000;
  return { now: () => at, advance: (ms) => (at += ms) };
}

test('a full bucket allows `requests` at once, then refuses with the seconds until one more is allowed', () => {
  const clock = manualClock();
  const limiter = createRateLimiter({ requests: 3, perSeconds: 6 }, clock.now);

  expect([1, 2, 3].map(() => limiter.take('token:ci'))).toEqual([
    { allowed: true, remaining: 2, resetSeconds: 2, retryAfterSeconds: 0 },
    { allowed: true, remaining: 1, resetSeconds: 4, retryAfterSeconds: 0 },
    { allowed: true, remaining: 0, resetSeconds: 6, retryAfterSeconds: 0 },
  ]);
  expect(limiter.take('token:ci')).toEqual({ allowed: false, remaining: 0, resetSeconds: 6, retryAfterSeconds: 2 });

  clock.advance(1_999);
  expect(limiter.take('token:ci').allowed).toBe(false);
  clock.advance(1);
  expect(limiter.take('token:ci')).toMatchObject({ allowed: true, remaining: 0 });
});

test('each key has its own bucket', () => {
  const limiter = createRateLimiter({ requests: 1, perSeconds: 60 }, manualClock().now);

  expect(limiter.take('token:ci').allowed).toBe(true);
  expect(limiter.take('token:ci').allowed).toBe(false);
  expect(limiter.take('token:ops').allowed).toBe(true);
  expect(limiter.take('sub:alice').allowed).toBe(true);
});

test('burst sets the bucket size; the rate stays requests per perSeconds', () => {
  const clock = manualClock();
  const limiter = createRateLimiter({ requests: 1, perSeconds: 1, burst: 5 }, clock.now);

  const first = Array.from({ length: 6 }, () => limiter.take('k').allowed);
  expect(first).toEqual([true, true, true, true, true, false]);
  clock.advance(2_000);
  expect([limiter.take('k').allowed, limiter.take('k').allowed, limiter.take('k').allowed]).toEqual([
    true,
    true,
    false,
  ]);
  expect(limiter.policy).toBe('"atlas";q=5;w=5');
});

test('a bucket never fills beyond its size, however long it rests', () => {
  const clock = manualClock();
  const limiter = createRateLimiter({ requests: 2, perSeconds: 1 }, clock.now);
  limiter.take('k');
  clock.advance(3_600_000);
  expect(limiter.take('k')).toMatchObject({ allowed: true, remaining: 1 });
});

test('the fields are IETF RateLimit-Policy and RateLimit structured fields naming the "atlas" policy', () => {
  const limiter = createRateLimiter({ requests: 100, perSeconds: 60 }, manualClock().now);
  expect(limiter.policy).toBe('"atlas";q=100;w=60');
  expect(limiter.describe(limiter.take('k'))).toBe('"atlas";r=99;t=1');
});
