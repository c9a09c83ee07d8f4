/**
 * Why an envelope was not accepted, in the order a recipient checks. The SDK's crypto layer
 * raises `MALFORMED`, `SIGNATURE_INVALID`, `NOT_A_RECIPIENT`, `DECRYPT_FAILED` and
 * `CONTENT_INVALID`; the layer above it (directory and conversation state) raises
 * `ATTESTATION_INVALID`, `SENDER_UNKNOWN`, `NOT_A_MEMBER` and `CONVERSATION_MISMATCH`.
 */
export const UNDECRYPTABLE_REASONS = [
  'MALFORMED',
  'ATTESTATION_INVALID',
  'SENDER_UNKNOWN',
  'NOT_A_MEMBER',
  'CONVERSATION_MISMATCH',
  'SIGNATURE_INVALID',
  'NOT_A_RECIPIENT',
  'DECRYPT_FAILED',
  'CONTENT_INVALID',
] as const;

/** One of {@link UNDECRYPTABLE_REASONS}. */
export type UndecryptableReason = (typeof UNDECRYPTABLE_REASONS)[number];

/** Fixed messages: never a key, ciphertext or plaintext. */
const MESSAGES: Readonly<Record<UndecryptableReason, string>> = {
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
 * An envelope failed one of the recipient's checks. `reason` says which; `message` is fixed
 * per reason, safe to log and show, and carries no cause.
 *
 * @example
 * ```ts
 * try {
 *   await openEnvelope({ envelope, recipient, senderSigningKey });
 * } catch (error) {
 *   if (error instanceof CryptoCheckError) console.warn('undecryptable:', error.reason);
 *   else throw error;
 * }
 * ```
 */
export class CryptoCheckError extends Error {
  readonly reason: UndecryptableReason;

  constructor(reason: UndecryptableReason) {
    super(MESSAGES[reason]);
    this.name = 'CryptoCheckError';
    this.reason = reason;
  }
}

/**
 * Whether `value` is one of {@link UNDECRYPTABLE_REASONS}.
 *
 * @example
 * ```ts
 * isUndecryptableReason('DECRYPT_FAILED'); // true
 * ```
 */
export function isUndecryptableReason(value: unknown): value is UndecryptableReason {
  return typeof value === 'string' && (UNDECRYPTABLE_REASONS as readonly string[]).includes(value);
}
