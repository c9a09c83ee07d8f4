import { type DeviceId, type HubError, type HubErrorCode, type Identity, officerAddress } from '@ncp-hub/protocol';
import { answerableError } from '../answerable-error.js';
import { authAccepted } from '../audit/audit-events.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../logger.js';
import type { HubMetrics } from '../metrics.js';
import type { HandshakeBudgets } from '../realtime/rate-limiter.js';
import type { Authenticator } from './authenticate.js';

/** How a session reaches the hub. */
export type Transport = 'socket' | 'http';

/** What {@link admitSession} works with, one of each per hub. */
export interface SessionGate {
  authenticator: Authenticator;
  audit: Pick<AuditLog, 'append' | 'recordHttpAcceptance' | 'recordRefusal'>;
  metrics: HubMetrics;
  logger: Logger;
  /** Handshakes per officer, refusals per claimed agency and address (`HANDSHAKES_PER_MINUTE`). */
  budgets: HandshakeBudgets;
}

/**
 * Refusals that are the hub's own trouble, or a budget's: they do not count against the
 * source's budget of refusals.
 */
const UNCHARGED_REFUSALS: ReadonlySet<HubErrorCode> = new Set(['RATE_LIMITED', 'AUTH_KEYS_UNAVAILABLE', 'INTERNAL']);

/** The source of an attempt for the budget of refusals: the agency its token claims (or `-`) and its address. */
function sourceOf(claimedAgency: string | undefined, address: string | undefined): string {
  return `${claimedAgency ?? '-'}@${address ?? '-'}`;
}

/** One attempt to open a session: a Socket.IO handshake or an HTTP request. */
export interface AdmissionAttempt<T> {
  transport: Transport;
  /** The socket's `auth.token`, or the HTTP `Authorization` header. Never logged. */
  credential: unknown;
  /** The peer's address, for the log. */
  address: string | undefined;
  /** Checks before the token (the browser origin); a throw refuses like a bad token. */
  before?: () => void;
  /**
   * The transport's own steps once the token is verified (the socket's device and rooms). It
   * gets `recordAcceptance`, to call with the session's device so that the acceptance is
   * audited alongside its own Redis work; a throw refuses like a bad token.
   */
  accept: (identity: Identity, recordAcceptance: (device: DeviceId | null) => Promise<void>) => Promise<T>;
}

/** An admitted session: its verified identity and what the transport's `accept` made of it. */
export interface Admission<T> {
  identity: Identity;
  session: T;
}

/**
 * The one authenticate-accept-or-refuse sequence of both transports: refuses a source (claimed
 * agency and address) whose refusals have spent their budget before its token is looked at;
 * verifies the token (as `auth.token` on a socket, as a Bearer header over HTTP); on a socket,
 * takes one handshake from the officer's budget (RATE_LIMITED before anything is written);
 * runs the transport's own steps, and audits the acceptance (a socket's per connection, an HTTP
 * token's once per process); or refuses: counts the failure metric, counts the refusal for the
 * audit log (one entry per window and code), charges it to the source's budget (unless it is
 * the hub's fault or a budget's), logs it (with the cause, when unexpected), and throws the
 * {@link HubError} to answer with.
 *
 * @example
 * ```ts
 * const { identity } = await admitSession(gate, {
 *   transport: 'http',
 *   credential: req.headers.authorization,
 *   address: clientAddressOf(req),
 *   accept: (_identity, recordAcceptance) => recordAcceptance(null),
 * });
 * ```
 */
export async function admitSession<T>(gate: SessionGate, attempt: AdmissionAttempt<T>): Promise<Admission<T>> {
  const { authenticator, audit, metrics, logger, budgets } = gate;
  const { transport, credential } = attempt;
  const claimedAgency = authenticator.claimedAgency(credential);
  const source = sourceOf(claimedAgency, attempt.address);
  try {
    attempt.before?.();
    await budgets.refused.check(source);
    const identity =
      transport === 'http'
        ? await authenticator.verifyAuthorizationHeader(credential as string | undefined)
        : await authenticator.verify(credential);
    if (transport === 'socket') await budgets.officer.take(officerAddress(identity));
    const recordAcceptance = (device: DeviceId | null): Promise<void> => {
      const event = authAccepted(identity, transport, device);
      return transport === 'http'
        ? audit.recordHttpAcceptance(credential as string, event)
        : audit.append(event).then(() => undefined);
    };
    return { identity, session: await attempt.accept(identity, recordAcceptance) };
  } catch (error) {
    const refusal: HubError = answerableError(error, logger, `${transport} authentication failed unexpectedly`);
    metrics.authFailures.inc({ code: refusal.code, transport });
    audit.recordRefusal(transport, refusal.code, claimedAgency);
    if (refusal.code === 'RATE_LIMITED') {
      logger.debug({ ip: attempt.address }, `${transport} authentication refused: over its budget`);
      throw refusal;
    }
    if (!UNCHARGED_REFUSALS.has(refusal.code)) {
      await budgets.refused.charge(source).catch((error: unknown) => {
        logger.warn({ err: error }, 'charging a refused authentication failed');
      });
    }
    logger.info({ code: refusal.code, ip: attempt.address }, `${transport} authentication refused`);
    throw refusal;
  }
}
