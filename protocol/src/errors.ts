/**
 * The one error model of the hub and the SDK, after jose's `util/errors.ts`: a {@link HubError}
 * base with a stable `code`, one subclass per family of codes, and {@link AnyHubError}, the
 * discriminated union to `switch` on. Messages are fixed per throw site and never carry a
 * token, a key, ciphertext or message text; a `cause` is kept for logs only and never crosses
 * the wire ({@link HubError.toBody}).
 *
 * @packageDocumentation
 */
import { z } from 'zod';

/**
 * Every code, by family. Clients switch on `code`; `message` is for people and may change.
 * Every code is documented in docs/PROTOCOL.md §10.
 */
export const ERROR_CODES_BY_FAMILY = {
  /** The token of a Socket.IO handshake or an HTTP request was refused (HTTP 401). */
  auth: [
    'AUTH_TOKEN_MISSING',
    'AUTH_TOKEN_MALFORMED',
    'AUTH_JWE_NOT_ACCEPTED',
    'AUTH_ALG_NOT_ALLOWED',
    'AUTH_HEADER_NOT_ALLOWED',
    'AUTH_KID_MISSING',
    'AUTH_ISSUER_UNKNOWN',
    'AUTH_KID_UNKNOWN',
    'AUTH_SIGNATURE_INVALID',
    'AUTH_TOKEN_EXPIRED',
    'AUTH_TOKEN_NOT_YET_VALID',
    'AUTH_AUDIENCE_INVALID',
    'AUTH_CLAIM_MISSING',
    'AUTH_CLAIM_INVALID',
    'AUTH_LIFETIME_TOO_LONG',
    'AUTH_ROLE_NOT_ALLOWED',
    'AUTH_KEYS_UNAVAILABLE',
    'AUTH_OFFICER_REVOKED',
    'AUTH_DEVICE_REVOKED',
  ],
  /**
   * The request itself: its shape, its size, its rate, the event or route it names; or a hub
   * that cannot take it now (`BUSY`, with `retryAfter`).
   */
  request: [
    'ORIGIN_NOT_ALLOWED',
    'BAD_REQUEST',
    'UNKNOWN_EVENT',
    'NOT_FOUND',
    'PAYLOAD_TOO_LARGE',
    'RATE_LIMITED',
    'BUSY',
  ],
  /** Devices, attestations and the directory. */
  directory: ['DEVICE_REQUIRED', 'DEVICE_NOT_PUBLISHED', 'ATTESTATION_INVALID', 'AGENCY_UNKNOWN'],
  /** Conversations, their membership chains, messages and receipts. */
  conversation: [
    'SENDER_MISMATCH',
    'CONVERSATION_NOT_FOUND',
    'CONVERSATION_EXISTS',
    'NOT_A_MEMBER',
    'MEMBERSHIP_INVALID',
    'RECIPIENTS_CHANGED',
  ],
  /** Operational queries and their follow-up. */
  query: [
    'ROLE_REQUIRED',
    'QUERY_GROUND_INVALID',
    'QUERY_STATEMENT_REQUIRED',
    'QUERY_SAME_STATE',
    'QUERY_NOT_FOUND',
    'QUERY_TRANSITION_INVALID',
  ],
  /**
   * Raised by the SDK itself, never sent by the hub: the hub cannot be reached, the client is
   * not connected, a request got no answer in time, an envelope failed a recipient's check,
   * a passphrase-protected key export that does not open (wrong passphrase, changed byte,
   * unknown version, Argon2id limits out of range).
   */
  client: ['HUB_UNREACHABLE', 'NOT_CONNECTED', 'REQUEST_TIMEOUT', 'UNDECRYPTABLE', 'KEY_EXPORT_INVALID'],
  /**
   * The hub's own trouble: anything unexpected (`INTERNAL`: its message is always the same; the
   * cause is logged, never sent), or a write the replicas did not confirm in time
   * (`REPLICATION_TIMEOUT`, temporary, with `retryAfter`: send the same request again).
   */
  internal: ['INTERNAL', 'REPLICATION_TIMEOUT'],
} as const;

/** Families of {@link ERROR_CODES_BY_FAMILY}. */
export type HubErrorFamily = keyof typeof ERROR_CODES_BY_FAMILY;
/** The codes of one family. */
export type HubErrorCodeOf<F extends HubErrorFamily> = (typeof ERROR_CODES_BY_FAMILY)[F][number];
/** Every stable error code of the hub and the SDK. */
export type HubErrorCode = HubErrorCodeOf<HubErrorFamily>;

export type AuthErrorCode = HubErrorCodeOf<'auth'>;
export type RequestErrorCode = HubErrorCodeOf<'request'>;
export type DirectoryErrorCode = HubErrorCodeOf<'directory'>;
export type ConversationErrorCode = HubErrorCodeOf<'conversation'>;
export type QueryErrorCode = HubErrorCodeOf<'query'>;
export type ClientErrorCode = HubErrorCodeOf<'client'>;

/** Every code, as one list. */
export const HUB_ERROR_CODES = [
  ...ERROR_CODES_BY_FAMILY.auth,
  ...ERROR_CODES_BY_FAMILY.request,
  ...ERROR_CODES_BY_FAMILY.directory,
  ...ERROR_CODES_BY_FAMILY.conversation,
  ...ERROR_CODES_BY_FAMILY.query,
  ...ERROR_CODES_BY_FAMILY.client,
  ...ERROR_CODES_BY_FAMILY.internal,
] as const satisfies readonly HubErrorCode[];

// Compile-time check that HUB_ERROR_CODES lists every family.
const everyCodeListed: [Exclude<HubErrorCode, (typeof HUB_ERROR_CODES)[number]>] extends [never] ? true : false = true;
void everyCodeListed;

const FAMILY_OF_CODE: ReadonlyMap<string, HubErrorFamily> = new Map(
  (Object.entries(ERROR_CODES_BY_FAMILY) as Array<[HubErrorFamily, readonly HubErrorCode[]]>).flatMap(
    ([family, codes]) => codes.map((code) => [code, family] as const),
  ),
);

/** Whether `value` is one of the hub's error codes. */
export function isHubErrorCode(value: unknown): value is HubErrorCode {
  return typeof value === 'string' && FAMILY_OF_CODE.has(value);
}

/** The family of a code. */
export function errorFamilyOf(code: HubErrorCode): HubErrorFamily {
  return FAMILY_OF_CODE.get(code) as HubErrorFamily;
}

/**
 * Why an envelope (or a receipt) was not accepted by a recipient, in the order the SDK checks
 * (docs/PROTOCOL.md §9.4): `MALFORMED`, then the conversation and directory state
 * (`CONVERSATION_MISMATCH`, `NOT_A_MEMBER`, `SENDER_UNKNOWN`, `ATTESTATION_INVALID`), then the
 * cryptography (`SIGNATURE_INVALID`, `NOT_A_RECIPIENT`, `DECRYPT_FAILED`, `CONTENT_INVALID`).
 * The reason of an {@link UndecryptableError}.
 */
export const UNDECRYPTABLE_REASONS = [
  'MALFORMED',
  'CONVERSATION_MISMATCH',
  'NOT_A_MEMBER',
  'SENDER_UNKNOWN',
  'ATTESTATION_INVALID',
  'SIGNATURE_INVALID',
  'NOT_A_RECIPIENT',
  'DECRYPT_FAILED',
  'CONTENT_INVALID',
] as const;
/** One of {@link UNDECRYPTABLE_REASONS}. */
export type UndecryptableReason = (typeof UNDECRYPTABLE_REASONS)[number];

/** Whether `value` is one of {@link UNDECRYPTABLE_REASONS}. */
export function isUndecryptableReason(value: unknown): value is UndecryptableReason {
  return typeof value === 'string' && (UNDECRYPTABLE_REASONS as readonly string[]).includes(value);
}

/** The error object sent over the wire: in an ack, in `connect_error` `err.data`, in an HTTP body. */
export const hubErrorBodySchema = z.object({
  code: z.enum(HUB_ERROR_CODES),
  /** For people; may change. Never a token, key, ciphertext or message text. */
  message: z.string(),
  /** With `RATE_LIMITED` and `BUSY` (temporary refusals): milliseconds to wait before trying again. */
  retryAfter: z.number().int().nonnegative().optional(),
  /** With `RECIPIENTS_CHANGED`: the current devices (`AGENCY/officer/device`) the envelope left out. */
  missing: z.array(z.string()).optional(),
});
export type HubErrorBody = z.infer<typeof hubErrorBodySchema>;

/** Options of a {@link HubError}: the standard `cause` (logs only) and the optional wire fields. */
export interface HubErrorOptions extends ErrorOptions {
  retryAfter?: number;
  missing?: string[];
}

/**
 * Base error of the hub and the SDK. Its `message` is safe to show and to log: it never
 * contains a token, a key, ciphertext or message text. `cause` (the underlying exception)
 * is for logs only and is never sent.
 *
 * @example
 * ```ts
 * try {
 *   await client.send(conv, 'hello');
 * } catch (error) {
 *   if (!isHubError(error)) throw error;
 *   const e = error;
 *   switch (e.code) {
 *     case 'RATE_LIMITED':
 *       await sleep(e.retryAfter ?? 1000);
 *       break;
 *     case 'HUB_UNREACHABLE':
 *       showOffline();
 *       break;
 *     default:
 *       report(e.code, e.message);
 *   }
 * }
 * ```
 */
export class HubError<C extends HubErrorCode = HubErrorCode> extends Error {
  override name = 'HubError';
  readonly code: C;
  /** With `RATE_LIMITED` and other temporary refusals: milliseconds to wait before trying again. */
  readonly retryAfter: number | undefined;
  /** With `RECIPIENTS_CHANGED`: the current devices the envelope left out. */
  readonly missing: string[] | undefined;

  constructor(code: C, message: string, options?: HubErrorOptions) {
    super(message, options);
    this.code = code;
    this.retryAfter = options?.retryAfter;
    this.missing = options?.missing;
  }

  /** The family of {@link code}. */
  get family(): HubErrorFamily {
    return errorFamilyOf(this.code);
  }

  /** The wire form, `{ code, message }` (and `retryAfter`, `missing` when set); never the cause. */
  toBody(): HubErrorBody {
    const body: HubErrorBody = { code: this.code, message: this.message };
    if (this.retryAfter !== undefined) body.retryAfter = this.retryAfter;
    if (this.missing !== undefined) body.missing = this.missing;
    return body;
  }
}

/** A refused token (family `auth`). */
export class AuthError extends HubError<AuthErrorCode> {
  override name = 'AuthError';
}
/** A refused request: shape, size, rate, unknown event or route, origin (family `request`). */
export class RequestError extends HubError<RequestErrorCode> {
  override name = 'RequestError';
}
/** Devices, attestations, the directory (family `directory`). */
export class DirectoryError extends HubError<DirectoryErrorCode> {
  override name = 'DirectoryError';
}
/** Conversations, membership chains, messages and receipts (family `conversation`). */
export class ConversationError extends HubError<ConversationErrorCode> {
  override name = 'ConversationError';
}
/** Operational queries (family `query`). */
export class QueryError extends HubError<QueryErrorCode> {
  override name = 'QueryError';
}
/** Raised by the SDK itself: unreachable hub, not connected, no answer in time (family `client`). */
export class ClientError extends HubError<Exclude<ClientErrorCode, 'UNDECRYPTABLE'>> {
  override name = 'ClientError';
}
/** Something unexpected; the message is always `internal error` (family `internal`). */
export class InternalError extends HubError<'INTERNAL'> {
  override name = 'InternalError';
  constructor(options?: ErrorOptions) {
    super('INTERNAL', 'internal error', options);
  }
}

/** Fixed messages of {@link UndecryptableError}: never a key, ciphertext or plaintext. */
const UNDECRYPTABLE_MESSAGES: Readonly<Record<UndecryptableReason, string>> = {
  MALFORMED: 'the envelope is malformed',
  ATTESTATION_INVALID: "the sender device's attestation is invalid",
  SENDER_UNKNOWN: 'the sender device is unknown',
  NOT_A_MEMBER: 'the sender is not a member of the conversation',
  CONVERSATION_MISMATCH: 'the envelope does not belong to this conversation',
  SIGNATURE_INVALID: "the envelope's signature is invalid",
  NOT_A_RECIPIENT: 'this device is not a recipient of the envelope',
  DECRYPT_FAILED: 'the envelope could not be decrypted',
  CONTENT_INVALID: 'the decrypted content is invalid',
};

/**
 * An envelope (or receipt) failed one of the recipient's checks: code `UNDECRYPTABLE`,
 * `reason` says which check. The message is fixed per reason and carries no cause.
 *
 * @example
 * ```ts
 * try {
 *   await openEnvelope({ envelope, recipient, senderSigningKey });
 * } catch (error) {
 *   if (error instanceof UndecryptableError) console.warn('undecryptable:', error.reason);
 *   else throw error;
 * }
 * ```
 */
export class UndecryptableError extends HubError<'UNDECRYPTABLE'> {
  override name = 'UndecryptableError';
  readonly reason: UndecryptableReason;

  constructor(reason: UndecryptableReason) {
    super('UNDECRYPTABLE', UNDECRYPTABLE_MESSAGES[reason]);
    this.reason = reason;
  }
}

/** Every concrete hub error: `switch (error.code)` narrows to the class of its family. */
export type AnyHubError =
  | AuthError
  | RequestError
  | DirectoryError
  | ConversationError
  | QueryError
  | ClientError
  | UndecryptableError
  | InternalError;

const CLASS_OF_FAMILY = {
  auth: AuthError,
  request: RequestError,
  directory: DirectoryError,
  conversation: ConversationError,
  query: QueryError,
  client: ClientError,
  internal: HubError,
} as const satisfies Record<HubErrorFamily, unknown>;

/**
 * The error of `code`, as an instance of its family's class.
 *
 * @example
 * ```ts
 * throw hubError('NOT_A_MEMBER', 'the sender is not a member of the conversation');
 * ```
 */
export function hubError(
  code: Exclude<HubErrorCode, 'UNDECRYPTABLE'>,
  message: string,
  options?: HubErrorOptions,
): AnyHubError {
  if (code === 'INTERNAL') return new InternalError(options);
  const Class = CLASS_OF_FAMILY[errorFamilyOf(code)] as new (
    code: HubErrorCode,
    message: string,
    options?: HubErrorOptions,
  ) => AnyHubError;
  return new Class(code, message, options);
}

/**
 * The error of a wire body (an ack's `error`, `connect_error`'s `data`, an HTTP error body),
 * as its family's class. A body that is not a hub error body becomes `INTERNAL`, and so does
 * a code of the `client` family: those are raised by an SDK itself, never sent by a hub, so a
 * hub that sends one (say `HUB_UNREACHABLE`) is not believed.
 */
export function hubErrorFromBody(body: unknown, options?: ErrorOptions): AnyHubError {
  const parsed = hubErrorBodySchema.safeParse(body);
  if (!parsed.success) return new InternalError(options);
  const { code, message, retryAfter, missing } = parsed.data;
  if (code === 'UNDECRYPTABLE' || errorFamilyOf(code) === 'client') return new InternalError(options);
  return hubError(code, message, {
    ...options,
    ...(retryAfter === undefined ? {} : { retryAfter }),
    ...(missing === undefined ? {} : { missing }),
  });
}

/**
 * Whether `value` is a hub error, narrowed to the union to `switch` on.
 *
 * @example
 * ```ts
 * if (isHubError(error) && error.code === 'RATE_LIMITED') await sleep(error.retryAfter ?? 1000);
 * ```
 */
export function isHubError(value: unknown): value is AnyHubError {
  return value instanceof HubError;
}

/**
 * The one fallback for the unexpected: a {@link HubError} as it is, anything else as
 * `INTERNAL` with the original kept as `cause` (for the log, never for the wire).
 */
export function toHubError(error: unknown): HubError {
  return error instanceof HubError ? error : new InternalError({ cause: error });
}
