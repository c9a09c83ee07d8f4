/**
 * Every limit of the wire protocol, as named constants: the schemas use these, and
 * docs/PROTOCOL.md states them (its limits table is checked against this file by a test).
 *
 * @packageDocumentation
 */

/** Most recipient devices one envelope may carry (`header.to`). */
export const MAX_RECIPIENT_DEVICES = 500;
/** Most members of one conversation. */
export const MAX_CONVERSATION_MEMBERS = 50;
/** Most message ids one receipt may cover. */
export const MAX_RECEIPT_IDS = 100;
/** Highest `seq` of a membership record (1 for `create`, +1 per change). */
export const MAX_MEMBERSHIP_SEQ = 1_000_000;
/** Highest `seq` of an envelope (per sender device and conversation): 2^53 - 1. */
export const MAX_ENVELOPE_SEQ = Number.MAX_SAFE_INTEGER;
/** Highest time (`ts`, milliseconds since the epoch) in envelopes, records and receipts: the ECMAScript maximum date. */
export const MAX_TIMESTAMP_MS = 8_640_000_000_000_000;
/** Longest envelope ciphertext `ct`, in base64url characters (the hub's `MAX_ENVELOPE_BYTES` caps the whole envelope first). */
export const MAX_CIPHERTEXT_CHARS = 1_000_000;
/** Longest device attestation (compact JWS), in characters. */
export const MAX_ATTESTATION_LENGTH = 4096;
/** Longest officer token (compact JWS), in characters. */
export const MAX_TOKEN_LENGTH = 8192;
/** Longest lifetime (`exp - iat`) of an officer token, in seconds: 12 hours. */
export const MAX_TOKEN_LIFETIME_SECONDS = 12 * 60 * 60;
/** Longest lifetime (`exp - iat`) of a device attestation, in seconds: 365 days. */
export const MAX_ATTESTATION_TTL_SECONDS = 365 * 24 * 3600;
/** Most officers one `directory:devices` look-up may name. */
export const MAX_DIRECTORY_OFFICERS = 100;
/** Most items one `conversation:sync` may ask for. */
export const MAX_SYNC_LIMIT = 500;
/** Items one `conversation:sync` returns when it names no `limit`. */
export const DEFAULT_SYNC_LIMIT = 100;
/** Longest reference (case reference, formal-request reference, withdrawal reason), in characters. */
export const MAX_REFERENCE_LENGTH = 200;
