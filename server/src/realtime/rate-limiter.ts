import { RequestError } from '@ncp-hub/protocol';
import type { Config } from '../config.js';

/**
 * A rate limit: takes one unit of an officer's budget, or throws RATE_LIMITED with
 * `retryAfter`. An interface, so that a limiter shared by every hub node (in Redis) can take
 * the place of {@link TokenBucketLimiter}.
 */
export interface RateLimiter {
  take(key: string): void | Promise<void>;
}

/** The budgets a client event can draw on (its table entry's `limit`). */
export const RATE_BUDGETS = ['write', 'read'] as const;
/**
 * One of {@link RATE_BUDGETS}: `write` for what stores or changes something (messages, receipts,
 * conversation changes, query openings and steps, device publications), `read` for the rest
 * (lookups, syncs, acknowledgements of received items).
 */
export type RateBudget = (typeof RATE_BUDGETS)[number];
/** A limiter per budget. */
export type RateLimits = Readonly<Record<RateBudget, RateLimiter>>;

/** Reads get this many times the write budget (per second and at once). */
export const READ_BUDGET_FACTOR = 10;

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * A token bucket per key (an officer), kept in this node's memory: `perSecond` sustained,
 * `burst` at once. Buckets are ephemeral — a restart refills them — so they need no Redis.
 */
export class TokenBucketLimiter implements RateLimiter {
  private readonly perSecond: number;
  private readonly burst: number;
  /** The refusal's message. */
  private readonly refusal: string;
  private readonly now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    perSecond: number,
    burst: number,
    /** The refusal's message. */
    refusal = 'too many requests: slow down',
    now: () => number = Date.now,
  ) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.refusal = refusal;
    this.now = now;
  }

  /** Takes one token for `key`, or throws RATE_LIMITED with `retryAfter` in milliseconds. */
  take(key: string): void {
    const now = this.now();
    const bucket = this.#buckets.get(key) ?? { tokens: this.burst, updatedAt: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.perSecond);
    bucket.updatedAt = now;
    if (bucket.tokens < 1) {
      this.#buckets.set(key, bucket);
      const retryAfter = Math.ceil(((1 - bucket.tokens) / this.perSecond) * 1000);
      throw new RequestError('RATE_LIMITED', this.refusal, { retryAfter });
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

/**
 * This node's limiters: writes at `RATE_LIMIT_PER_SECOND` / `RATE_LIMIT_BURST` per officer,
 * reads at {@link READ_BUDGET_FACTOR} times that.
 */
export function createRateLimits(config: Pick<Config, 'rateLimitPerSecond' | 'rateLimitBurst'>): RateLimits {
  const { rateLimitPerSecond: perSecond, rateLimitBurst: burst } = config;
  return {
    write: new TokenBucketLimiter(perSecond, burst, 'too many messages: slow down'),
    read: new TokenBucketLimiter(perSecond * READ_BUDGET_FACTOR, burst * READ_BUDGET_FACTOR),
  };
}
