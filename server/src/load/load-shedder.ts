import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { RequestError } from '@ncp-hub/protocol';
import type { Config } from '../config.js';

/**
 * Why a request was refused `BUSY` by the {@link LoadShedder}: the node works on
 * `MAX_REQUESTS_IN_FLIGHT` requests already (`requests`), its Redis connection has
 * `MAX_PENDING_REDIS_COMMANDS` commands waiting for their reply (`redis`), or its event loop
 * has been late by more than `MAX_EVENT_LOOP_LAG_MS` (`lag`).
 */
export const OVERLOAD_REASONS = ['requests', 'redis', 'lag'] as const;
/** One of {@link OVERLOAD_REASONS}. */
export type OverloadReason = (typeof OVERLOAD_REASONS)[number];

/** The bounds of a {@link LoadShedder} (from the hub's configuration). */
export type LoadBounds = Pick<Config, 'maxRequestsInFlight' | 'maxPendingRedisCommands' | 'maxEventLoopLagMs'>;

/** What the shedder reads of the hub's Redis connection: ioredis's queue of commands sent and not yet answered. */
export interface PendingCommands {
  readonly commandQueue: { readonly length: number };
}

/**
 * The `retryAfter` (ms) of a `BUSY` refusal for overload: at least this, plus a random part of
 * up to as much again ({@link BUSY_RETRY_JITTER_MS}), so that the clients refused together do
 * not all come back at the same moment.
 */
export const BUSY_RETRY_AFTER_MS = 500;
/** The random part of a `BUSY` refusal's `retryAfter`, at most. */
export const BUSY_RETRY_JITTER_MS = 500;

/**
 * How often the event-loop delay is read: the lag compared with `MAX_EVENT_LOOP_LAG_MS` is the
 * median delay of the event loop over the last such window, so that one long pause (a garbage
 * collection, one big answer) refuses nothing; only a loop that is late turn after turn does.
 */
export const LAG_WINDOW_MS = 500;
/** The sampling interval of the event-loop delay histogram. */
const LAG_RESOLUTION_MS = 10;

/** Counts a refusal; the hub's metrics (`ncp_hub_overload_refusals_total`). */
export type RefusalCounter = (reason: OverloadReason, transport: 'socket' | 'http') => void;

/**
 * The node's guard against overload: every client event and HTTP request (but the probes)
 * asks {@link LoadShedder.admit} for a place before anything else is done for it (no parsing,
 * no Redis command), and gives it back when answered. Refused with `BUSY` and a `retryAfter`
 * when the node has `maxRequestsInFlight` requests already, when its Redis connection has
 * `maxPendingRedisCommands` commands waiting for their reply, or when the median delay of its
 * event loop over the last {@link LAG_WINDOW_MS} was above `maxEventLoopLagMs`. So what the
 * node holds is bounded whatever is offered, and the requests it takes are answered in time:
 * what it is offered beyond what it can do is refused at once, cheaply, instead of making
 * every request late.
 *
 * @example
 * ```ts
 * const shedder = new LoadShedder(config, redis, (reason, transport) => metrics.overloadRefusals.inc({ reason, transport }));
 * const release = shedder.admit('socket'); // throws BUSY
 * try { await handle(request); } finally { release(); }
 * ```
 */
export class LoadShedder {
  private readonly bounds: LoadBounds;
  private readonly redis: PendingCommands;
  private readonly counted: RefusalCounter;
  #inFlight = 0;
  #lagMs = 0;
  readonly #delay: IntervalHistogram;
  readonly #timer: NodeJS.Timeout;

  constructor(bounds: LoadBounds, redis: PendingCommands, counted: RefusalCounter = () => {}) {
    this.bounds = bounds;
    this.redis = redis;
    this.counted = counted;
    this.#delay = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    this.#delay.enable();
    this.#timer = setInterval(() => this.#sampleLag(), LAG_WINDOW_MS);
    this.#timer.unref();
  }

  /** Requests admitted and not yet released. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The median event-loop delay over the last window, in ms. */
  get lagMs(): number {
    return this.#lagMs;
  }

  /** Why a request would be refused now, or undefined when it would be admitted. */
  overload(): OverloadReason | undefined {
    if (this.#inFlight >= this.bounds.maxRequestsInFlight) return 'requests';
    if (this.redis.commandQueue.length >= this.bounds.maxPendingRedisCommands) return 'redis';
    if (this.#lagMs > this.bounds.maxEventLoopLagMs) return 'lag';
    return undefined;
  }

  /**
   * Takes a place for one request and returns what gives it back (once, whatever the number of
   * calls); throws `BUSY` with `retryAfter` (and counts the refusal) when the node is overloaded.
   */
  admit(transport: 'socket' | 'http'): () => void {
    const reason = this.overload();
    if (reason !== undefined) {
      this.counted(reason, transport);
      throw busy(reason);
    }
    this.#inFlight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight -= 1;
    };
  }

  /** Stops sampling the event loop. */
  close(): void {
    clearInterval(this.#timer);
    this.#delay.disable();
  }

  #sampleLag(): void {
    // A window without a sample (the loop held the whole time) keeps the last figure.
    if (this.#delay.count > 0) {
      this.#lagMs = Math.max(0, this.#delay.percentile(50) / 1e6 - LAG_RESOLUTION_MS);
    }
    this.#delay.reset();
  }
}

const BUSY_MESSAGES: Record<OverloadReason, string> = {
  requests: 'the hub has too many requests in hand: try again later',
  redis: 'the hub has too much work waiting for its store: try again later',
  lag: 'the hub is running late: try again later',
};

/** The `BUSY` refusal of a request for overload. */
function busy(reason: OverloadReason): RequestError {
  return new RequestError('BUSY', BUSY_MESSAGES[reason], {
    retryAfter: BUSY_RETRY_AFTER_MS + Math.floor(Math.random() * (BUSY_RETRY_JITTER_MS + 1)),
  });
}
