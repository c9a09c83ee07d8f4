import { RequestError } from '@ncp-hub/protocol';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config.js';

/**
 * A rate limit: takes one unit of an officer's budget, or throws RATE_LIMITED with
 * `retryAfter`. The event table and the HTTP routes see only this, whatever keeps the count
 * ({@link SharedBudget}: Redis, so every hub node draws on the same budget).
 */
export interface RateLimiter {
  take(key: string): void | Promise<void>;
}

/** The budgets a client event can draw on (its table entry's `limit`). */
export const RATE_BUDGETS = ['write', 'read'] as const;
/**
 * One of {@link RATE_BUDGETS}: `write` for what stores or changes something (messages, receipts,
 * conversation changes, query openings and steps, device publications), `read` for the rest
 * (lookups, syncs, acknowledgements of received items) and for every HTTP route.
 */
export type RateBudget = (typeof RATE_BUDGETS)[number];
/** A limiter per budget. */
export type RateLimits = Readonly<Record<RateBudget, RateLimiter>>;

/**
 * The size of a budget: at most `points` requests per key in a window of `windowSeconds`
 * (whole seconds, at least 1), the window starting at the key's first request.
 */
export interface BudgetSize {
  readonly points: number;
  readonly windowSeconds: number;
}

/**
 * A budget of `burst` requests at once and `perSecond` on average, as a fixed window: a
 * window of `burst / perSecond` seconds (rounded, at least 1) that holds `burst` requests
 * (at least `perSecond`, for a window of one second). At the edge of two windows up to
 * twice `burst` can pass in a short time; over any longer span the average holds.
 *
 * @example
 * ```ts
 * budgetSize(50, 200); // { points: 200, windowSeconds: 4 }
 * budgetSize(0.1, 5); // { points: 5, windowSeconds: 50 }
 * ```
 */
export function budgetSize(perSecond: number, burst: number): BudgetSize {
  const windowSeconds = Math.max(1, Math.round(burst / perSecond));
  return { points: windowSeconds === 1 ? Math.max(burst, Math.ceil(perSecond)) : burst, windowSeconds };
}

/**
 * A budget per key shared by every hub node on one Redis (`rate-limiter-flexible`'s
 * `RateLimiterRedis`, one Lua call per request, under `keyPrefix`). When Redis cannot answer
 * (down, reconnecting, out of memory) each node counts in its own memory instead, with the
 * same size, so a Redis fault slows nothing down and refuses nothing it would not refuse
 * per node. A key whose budget is spent is refused on this node without asking Redis again
 * until its window ends.
 */
export class SharedBudget implements RateLimiter {
  readonly size: BudgetSize;
  /** The refusal's message. */
  private readonly refusal: string;
  private readonly limiter: RateLimiterRedis;

  constructor(redis: Redis, keyPrefix: string, size: BudgetSize, refusal = 'too many requests: slow down') {
    this.size = size;
    this.refusal = refusal;
    const window = { keyPrefix, points: size.points, duration: size.windowSeconds };
    this.limiter = new RateLimiterRedis({
      ...window,
      storeClient: redis,
      // Not connected: the insurance answers at once instead of a command waiting in the queue.
      rejectIfRedisNotReady: true,
      inMemoryBlockOnConsumed: size.points,
      insuranceLimiter: new RateLimiterMemory(window),
    });
  }

  /** Takes one request from `key`'s budget, or throws RATE_LIMITED with `retryAfter` (ms). */
  async take(key: string): Promise<void> {
    try {
      await this.limiter.consume(key);
    } catch (error) {
      throw this.refusalOf(error);
    }
  }

  /** Throws RATE_LIMITED (with `retryAfter`) when `key`'s budget is spent; takes nothing. */
  async check(key: string): Promise<void> {
    const state = await this.limiter.get(key);
    if (state && state.consumedPoints >= this.size.points) throw this.refusalOf(state);
  }

  /** Takes one request from `key`'s budget whether or not any is left (for {@link check} to see). */
  async charge(key: string): Promise<void> {
    await this.limiter.penalty(key);
  }

  private refusalOf(error: unknown): Error {
    return refusalOf(error, this.refusal);
  }
}

/** RATE_LIMITED with `retryAfter` (ms) for a spent budget (`rate-limiter-flexible`'s answer); any other error as it is. */
function refusalOf(error: unknown, message: string): Error {
  if (!(error instanceof RateLimiterRes)) return error as Error;
  return new RequestError('RATE_LIMITED', message, { retryAfter: Math.max(1, Math.ceil(error.msBeforeNext)) });
}

/**
 * A budget per key counted in this node's memory only, never waiting for Redis: for the probes
 * (`/healthz`, `/readyz`, `/metrics`), which must answer whatever Redis does — a stalled Redis
 * is when an operator reads them — and are asked of each node on its own.
 */
export class LocalBudget implements RateLimiter {
  readonly size: BudgetSize;
  private readonly refusal: string;
  private readonly limiter: RateLimiterMemory;

  constructor(size: BudgetSize, refusal = 'too many requests: slow down') {
    this.size = size;
    this.refusal = refusal;
    this.limiter = new RateLimiterMemory({ points: size.points, duration: size.windowSeconds });
  }

  /** Takes one request from `key`'s budget, or throws RATE_LIMITED with `retryAfter` (ms). */
  async take(key: string): Promise<void> {
    try {
      await this.limiter.consume(key);
    } catch (error) {
      throw refusalOf(error, this.refusal);
    }
  }
}

/** The Redis key prefix of one budget (`<REDIS_PREFIX>rate:<name>`; the officer or source follows). */
export function budgetKeyPrefix(redisPrefix: string, name: string): string {
  return `${redisPrefix}rate:${name}`;
}

/** The settings the budgets are sized by. */
export type BudgetConfig = Pick<
  Config,
  'redisPrefix' | 'rateLimitPerSecond' | 'rateLimitBurst' | 'rateLimitReadsPerSecond' | 'rateLimitReadsBurst'
>;

/**
 * The hub's request budgets per officer, shared by its nodes: `write` at `RATE_LIMIT_PER_SECOND`
 * / `RATE_LIMIT_BURST`, `read` at `RATE_LIMIT_READS_PER_SECOND` / `RATE_LIMIT_READS_BURST`.
 */
export function createRateLimits(redis: Redis, config: BudgetConfig): RateLimits {
  return {
    write: new SharedBudget(
      redis,
      budgetKeyPrefix(config.redisPrefix, 'write'),
      budgetSize(config.rateLimitPerSecond, config.rateLimitBurst),
      'too many messages: slow down',
    ),
    read: new SharedBudget(
      redis,
      budgetKeyPrefix(config.redisPrefix, 'read'),
      budgetSize(config.rateLimitReadsPerSecond, config.rateLimitReadsBurst),
    ),
  };
}

/** The budgets of session admissions (identity/admit-session.ts). */
export interface HandshakeBudgets {
  /** Socket.IO handshakes of one officer whose token verified, accepted or refused after it. */
  readonly officer: SharedBudget;
  /**
   * Refused admissions (handshakes and HTTP requests) of one source, the agency its token
   * claims and its address: a spent one is refused before its token is looked at.
   */
  readonly refused: SharedBudget;
}

/** {@link HandshakeBudgets} of `HANDSHAKES_PER_MINUTE` each, in windows of a minute. */
export function createHandshakeBudgets(
  redis: Redis,
  config: Pick<Config, 'redisPrefix' | 'handshakesPerMinute'>,
): HandshakeBudgets {
  const size: BudgetSize = { points: config.handshakesPerMinute, windowSeconds: 60 };
  return {
    officer: new SharedBudget(
      redis,
      budgetKeyPrefix(config.redisPrefix, 'handshake'),
      size,
      'too many connections by this officer: wait before connecting again',
    ),
    refused: new SharedBudget(
      redis,
      budgetKeyPrefix(config.redisPrefix, 'refused'),
      size,
      'too many refused authentications from this address: wait before trying again',
    ),
  };
}
