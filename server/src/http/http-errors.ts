import { HubError, type HubErrorCode, RequestError } from '@ncp-hub/protocol';

/** HTTP status of each error code; the type makes a new code fail to compile until it is mapped. */
export const HTTP_STATUS_BY_CODE: Readonly<Record<HubErrorCode, number>> = {
  AUTH_TOKEN_MISSING: 401,
  AUTH_TOKEN_MALFORMED: 401,
  AUTH_JWE_NOT_ACCEPTED: 401,
  AUTH_ALG_NOT_ALLOWED: 401,
  AUTH_HEADER_NOT_ALLOWED: 401,
  AUTH_KID_MISSING: 401,
  AUTH_ISSUER_UNKNOWN: 401,
  AUTH_KID_UNKNOWN: 401,
  AUTH_SIGNATURE_INVALID: 401,
  AUTH_TOKEN_EXPIRED: 401,
  AUTH_TOKEN_NOT_YET_VALID: 401,
  AUTH_AUDIENCE_INVALID: 401,
  AUTH_CLAIM_MISSING: 401,
  AUTH_CLAIM_INVALID: 401,
  AUTH_LIFETIME_TOO_LONG: 401,
  AUTH_ROLE_NOT_ALLOWED: 401,
  AUTH_KEYS_UNAVAILABLE: 503,
  AUTH_OFFICER_REVOKED: 401,
  AUTH_DEVICE_REVOKED: 401,
  ORIGIN_NOT_ALLOWED: 403,
  BAD_REQUEST: 400,
  DEVICE_REQUIRED: 400,
  DEVICE_NOT_PUBLISHED: 409,
  ATTESTATION_INVALID: 400,
  SENDER_MISMATCH: 403,
  AGENCY_UNKNOWN: 404,
  CONVERSATION_NOT_FOUND: 404,
  CONVERSATION_EXISTS: 409,
  NOT_A_MEMBER: 403,
  MEMBERSHIP_INVALID: 400,
  RATE_LIMITED: 429,
  BUSY: 503,
  ROLE_REQUIRED: 403,
  QUERY_GROUND_INVALID: 400,
  QUERY_STATEMENT_REQUIRED: 400,
  QUERY_SAME_STATE: 400,
  QUERY_NOT_FOUND: 404,
  QUERY_TRANSITION_INVALID: 409,
  UNKNOWN_EVENT: 400,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  RECIPIENTS_CHANGED: 409,
  // Raised by the SDK itself, never by the hub; mapped so that the table stays total.
  HUB_UNREACHABLE: 503,
  NOT_CONNECTED: 503,
  REQUEST_TIMEOUT: 504,
  UNDECRYPTABLE: 400,
  KEY_EXPORT_INVALID: 400,
  INTERNAL: 500,
  REPLICATION_TIMEOUT: 503,
};

/** What express and its JSON body parser say of a request they could not take, by their error `type`. */
const READ_REFUSALS: Readonly<Record<string, string>> = {
  'entity.parse.failed': 'the body is not valid JSON',
  'encoding.unsupported': 'the body has a Content-Encoding the hub does not decode (gzip, deflate, br)',
  'charset.unsupported': 'the body has a charset other than utf-8',
  'request.size.invalid': 'the body does not have the length of its Content-Length',
  'request.aborted': 'the request was aborted',
  'stream.encoding.set': 'the body could not be read',
  'stream.not.readable': 'the body could not be read',
};

/**
 * The refusal of a request that express or its body parser could not take, for the HTTP
 * app's one error path (the rest goes to `answerableError`, so INTERNAL). They raise errors
 * with a 4xx `status` (http-errors, `expose: true`; the router's `URIError` for a path
 * parameter that is not valid percent-encoding, `GET /v1/queries/%ZZ`): a body over
 * `limit` is `PAYLOAD_TOO_LARGE`, anything else `BAD_REQUEST` — a body that is not JSON, one
 * whose `Content-Encoding` it does not decode as (a `gzip` body that is not gzip), an
 * unsupported encoding or charset, a body cut short. `undefined` for any other error.
 */
export function requestReadRefusal(error: unknown, limit: string): RequestError | undefined {
  if (error instanceof HubError || typeof error !== 'object' || error === null) return undefined;
  const { status, type, expose } = error as { status?: unknown; type?: unknown; expose?: unknown };
  if (typeof status !== 'number' || status < 400 || status > 499) return undefined;
  if (error instanceof URIError) return new RequestError('BAD_REQUEST', 'the path is not valid percent-encoding');
  if (expose !== true) return undefined;
  if (type === 'entity.too.large') return new RequestError('PAYLOAD_TOO_LARGE', `the body exceeds ${limit}`);
  const known = typeof type === 'string' ? READ_REFUSALS[type] : undefined;
  // No type: the decompression stream failed (zlib's error, e.g. Z_DATA_ERROR: not gzip).
  return new RequestError('BAD_REQUEST', known ?? 'the body does not decode as its Content-Encoding says');
}
