/**
 * Stable error codes of the hub. Clients switch on `code`; `message` is for people and may
 * change. Every code is documented in docs/PROTOCOL.md.
 */
export const HUB_ERROR_CODES = [
  // authentication (Socket.IO `connect_error` `err.data.code`, HTTP 401)
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
  // authorisation and transport (HTTP 403)
  'ORIGIN_NOT_ALLOWED',
  // requests
  'BAD_REQUEST',
  'DEVICE_REQUIRED',
  'DEVICE_NOT_PUBLISHED',
  'ATTESTATION_INVALID',
  'SENDER_MISMATCH',
  'AGENCY_UNKNOWN',
  'CONVERSATION_NOT_FOUND',
  'CONVERSATION_EXISTS',
  'NOT_A_MEMBER',
  'MEMBERSHIP_INVALID',
  'RATE_LIMITED',
  'ROLE_REQUIRED',
  'QUERY_GROUND_INVALID',
  'QUERY_STATEMENT_REQUIRED',
  'QUERY_SAME_STATE',
  'QUERY_NOT_FOUND',
  'QUERY_TRANSITION_INVALID',
  'UNKNOWN_EVENT',
  'NOT_FOUND',
  'PAYLOAD_TOO_LARGE',
  'INTERNAL',
] as const;

/** One of {@link HUB_ERROR_CODES}. */
export type HubErrorCode = (typeof HUB_ERROR_CODES)[number];

/** The error object sent over the wire: in an ack, in `connect_error` `err.data`, in an HTTP body. */
export interface HubErrorBody {
  code: HubErrorCode;
  message: string;
  /** With `RATE_LIMITED`: milliseconds to wait before trying again. */
  retryAfter?: number;
}

/**
 * Base error of the hub and the SDK. Its `message` is safe to show and to log: it never
 * contains a token, a key, ciphertext or message text.
 */
export class HubError extends Error {
  readonly code: HubErrorCode;
  /** With `RATE_LIMITED`: milliseconds to wait before trying again. */
  readonly retryAfter: number | undefined;

  constructor(code: HubErrorCode, message: string, options?: ErrorOptions & { retryAfter?: number }) {
    super(message, options);
    this.name = 'HubError';
    this.code = code;
    this.retryAfter = options?.retryAfter;
  }

  /** The wire form, `{ code, message }` (and `retryAfter` when set). */
  toBody(): HubErrorBody {
    return this.retryAfter === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, retryAfter: this.retryAfter };
  }
}

/** Whether `value` is one of the hub's error codes. */
export function isHubErrorCode(value: unknown): value is HubErrorCode {
  return typeof value === 'string' && (HUB_ERROR_CODES as readonly string[]).includes(value);
}
