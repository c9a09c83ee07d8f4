import { HubError } from '@ncp-hub/protocol';
import { describe, expect, it } from 'vitest';
import { createRateLimits, READ_BUDGET_FACTOR, TokenBucketLimiter } from '../src/realtime/rate-limiter.js';

/** Takes until refused; returns how many were allowed and the refusal. */
function drain(take: () => void, max = 10_000): { allowed: number; refusal: HubError } {
  for (let allowed = 0; allowed < max; allowed++) {
    try {
      take();
    } catch (error) {
      expect(error).toBeInstanceOf(HubError);
      return { allowed, refusal: error as HubError };
    }
  }
  throw new Error('never refused');
}

describe('TokenBucketLimiter', () => {
  it('allows the burst, then refuses with RATE_LIMITED and retryAfter, and refills at its rate', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter(2, 5, 'slow down', () => now);
    const { allowed, refusal } = drain(() => limiter.take('UA-NPU/a'));
    expect(allowed).toBe(5);
    expect(refusal.toBody()).toEqual({ code: 'RATE_LIMITED', message: 'slow down', retryAfter: 500 });
    // Another officer has a budget of its own.
    expect(() => limiter.take('UA-NPU/b')).not.toThrow();
    now = 1000;
    expect(drain(() => limiter.take('UA-NPU/a')).allowed).toBe(2);
  });
});

describe('createRateLimits', () => {
  it('gives reads READ_BUDGET_FACTOR times the write budget', () => {
    const limits = createRateLimits({ rateLimitPerSecond: 1, rateLimitBurst: 3 });
    expect(drain(() => limits.write.take('o')).allowed).toBe(3);
    expect(drain(() => limits.read.take('o')).allowed).toBe(3 * READ_BUDGET_FACTOR);
  });
});
