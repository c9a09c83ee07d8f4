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
}

/**
 * Base error of the hub and the SDK. Its `message` is safe to show and to log: it never
 * contains a token, a key, ciphertext or message text.
 */
export class HubError extends Error {
  readonly code: HubErrorCode;

  constructor(code: HubErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HubError';
    this.code = code;
  }

  /** The wire form, `{ code, message }`. */
  toBody(): HubErrorBody {
    return { code: this.code, message: this.message };
  }
}

/** Whether `value` is one of the hub's error codes. */
export function isHubErrorCode(value: unknown): value is HubErrorCode {
  return typeof value === 'string' && (HUB_ERROR_CODES as readonly string[]).includes(value);
}
