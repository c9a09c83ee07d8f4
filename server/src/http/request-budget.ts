import { type HubError, type Identity, officerAddress, RequestError } from '@ncp-hub/protocol';
import type { NextFunction, Request, Response } from 'express';
import type { LoadShedder } from '../load/load-shedder.js';
import type { RateLimiter, RateLimits } from '../realtime/rate-limiter.js';
import { clientAddressOf } from './client-address.js';

/**
 * The `retryAfter` (ms) of a request refused because its officer has `maxInFlight` requests
 * unanswered on this node: about what one of them takes.
 */
export const HTTP_IN_FLIGHT_RETRY_AFTER_MS = 100;

/**
 * The probes an operator or a supervisor reads to see how the hub is doing: never refused for
 * overload (a hub that is busy is alive, and its metrics say why), so cheap that they add
 * nothing to it. Their address budget still applies.
 */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The budgets of HTTP requests: every request but the {@link PROBE_PATHS} first takes a place
 * of the node's {@link LoadShedder} (BUSY, 503 with `retryAfter`, when the node is overloaded;
 * before its body, its token or anything else is looked at), given back when the response
 * ends; then an authenticated request takes one from its officer's `read`
 * budget (the one its socket events draw on too, across hub nodes) and one of the officer's
 * `maxInFlight` places on this node, given back when the response ends; a route without a
 * token (health, readiness, metrics, hub keys, an unknown route) takes one from the `read`
 * budget of the peer's address (for the probes, one kept in this node's memory). Beyond either: RATE_LIMITED (429) with `retryAfter`, which the
 * error handler sends as the `Retry-After` header too ({@link retryAfterSeconds}).
 */
export class HttpBudget {
  private readonly limits: RateLimits;
  private readonly maxInFlight: number;
  private readonly shedder: LoadShedder;
  readonly #inFlight = new Map<string, number>();

  private readonly probes: RateLimiter;

  constructor(limits: RateLimits, maxInFlight: number, shedder: LoadShedder, probes: RateLimiter) {
    this.limits = limits;
    this.maxInFlight = maxInFlight;
    this.shedder = shedder;
    this.probes = probes;
  }

  /** Middleware before all others: a place of the node's {@link LoadShedder} until the response ends, or BUSY. */
  readonly shed = (req: Request, res: Response, next: NextFunction): void => {
    if (PROBE_PATHS.has(req.path)) {
      next();
      return;
    }
    let release: () => void;
    try {
      release = this.shedder.admit('http');
    } catch (error) {
      next(error);
      return;
    }
    res.once('close', release);
    next();
  };

  /** Takes `identity`'s budget and a place in flight until `res` ends; throws RATE_LIMITED. */
  async admit(identity: Identity, res: Response): Promise<void> {
    const officer = officerAddress(identity);
    const inFlight = this.#inFlight.get(officer) ?? 0;
    if (inFlight >= this.maxInFlight) {
      throw new RequestError('RATE_LIMITED', 'too many requests of this officer in flight: wait for their answers', {
        retryAfter: HTTP_IN_FLIGHT_RETRY_AFTER_MS,
      });
    }
    this.#inFlight.set(officer, inFlight + 1);
    res.once('close', () => {
      const left = (this.#inFlight.get(officer) ?? 1) - 1;
      if (left > 0) this.#inFlight.set(officer, left);
      else this.#inFlight.delete(officer);
    });
    await this.limits.read.take(officer);
  }

  /** Middleware of the routes without a token: the `read` budget of the peer's address. */
  readonly byAddress = (req: Request, _res: Response, next: NextFunction): void => {
    takeFor(this.limits.read, req, next);
  };

  /**
   * Middleware of the {@link PROBE_PATHS}: a budget of the peer's address of the same size, kept
   * in this node's memory (`probes`), so that they answer at once even when Redis does not.
   */
  readonly probeByAddress = (req: Request, _res: Response, next: NextFunction): void => {
    takeFor(this.probes, req, next);
  };
}

/** The `Retry-After` header (whole seconds, rounded up) of a refusal that carries `retryAfter`. */
export function retryAfterSeconds(error: HubError): string | undefined {
  return error.retryAfter === undefined ? undefined : String(Math.ceil(error.retryAfter / 1000));
}

/** Takes one unit of `budget` for the request's client address (TRUST_PROXY), then goes on (or on to the refusal). */
function takeFor(budget: RateLimiter, req: Request, next: NextFunction): void {
  Promise.resolve(budget.take(`address:${clientAddressOf(req) ?? '-'}`)).then(() => next(), next);
}
