import { HubError } from '@ncp-hub/protocol';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * A token bucket per key (an officer), kept in this node's memory: `perSecond` sustained,
 * `burst` at once. Buckets are ephemeral — a restart refills them — so they need no Redis.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `key`, or throws RATE_LIMITED with `retryAfter` in milliseconds. */
  take(key: string): void {
    const now = this.now();
    const bucket = this.#buckets.get(key) ?? { tokens: this.burst, updatedAt: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.perSecond);
    bucket.updatedAt = now;
    if (bucket.tokens < 1) {
      this.#buckets.set(key, bucket);
      const retryAfter = Math.ceil(((1 - bucket.tokens) / this.perSecond) * 1000);
      throw new HubError('RATE_LIMITED', 'too many messages: slow down', { retryAfter });
    }
    bucket.tokens -= 1;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > 100_000) this.#forgetFullBuckets(now);
  }

  #forgetFullBuckets(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.perSecond >= this.burst) this.#buckets.delete(key);
    }
  }
}
