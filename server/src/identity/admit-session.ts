import type { DeviceId, HubError, Identity } from '@ncp-hub/protocol';
import { answerableError } from '../answerable-error.js';
import { authAccepted } from '../audit/audit-events.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Logger } from '../logger.js';
import type { HubMetrics } from '../metrics.js';
import type { Authenticator } from './authenticate.js';

/** How a session reaches the hub. */
export type Transport = 'socket' | 'http';

/** What {@link admitSession} works with, one of each per hub. */
export interface SessionGate {
  authenticator: Authenticator;
  audit: Pick<AuditLog, 'append' | 'recordHttpAcceptance' | 'recordRefusal'>;
  metrics: HubMetrics;
  logger: Logger;
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
 * The one authenticate-accept-or-refuse sequence of both transports: verifies the token (as
 * `auth.token` on a socket, as a Bearer header over HTTP), runs the transport's own steps,
 * and audits the acceptance (a socket's per connection, an HTTP token's once per process); or
 * refuses: counts the failure metric, counts the refusal for the audit log, logs it (with the
 * cause, when unexpected), and throws the {@link HubError} to answer with.
 *
 * @example
 * ```ts
 * const { identity } = await admitSession(gate, {
 *   transport: 'http',
 *   credential: req.headers.authorization,
 *   address: req.socket.remoteAddress,
 *   accept: (_identity, recordAcceptance) => recordAcceptance(null),
 * });
 * ```
 */
export async function admitSession<T>(gate: SessionGate, attempt: AdmissionAttempt<T>): Promise<Admission<T>> {
  const { authenticator, audit, metrics, logger } = gate;
  const { transport, credential } = attempt;
  try {
    attempt.before?.();
    const identity =
      transport === 'http'
        ? await authenticator.verifyAuthorizationHeader(credential as string | undefined)
        : await authenticator.verify(credential);
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
    audit.recordRefusal(transport, refusal.code, authenticator.claimedAgency(credential));
    logger.info({ code: refusal.code, ip: attempt.address }, `${transport} authentication refused`);
    throw refusal;
  }
}
