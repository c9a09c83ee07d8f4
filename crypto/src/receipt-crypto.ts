import {
  canonicalBytes,
  canonicalJson,
  type Receipt,
  receiptSchema,
  SIGNATURE_CONTEXTS,
  type SignedReceipt,
  signedReceiptSchema,
  toBase64url,
} from '@ncp-hub/protocol';
import { concatBytes, contextPrefix } from './bytes.js';
import { DEVICE_KEY_SIZES } from './device-keys.js';
import { assertBytes, inputError } from './input-error.js';
import { getSodium } from './sodium.js';
import { verifyDetached } from './sodium-failures.js';

/**
 * The bytes a recipient device signs for a receipt:
 * `ASCII("ncp-hub/receipt/v1") || 0x00 || UTF-8(RFC 8785 canonical JSON of receipt)`.
 *
 * @example
 * ```ts
 * const input = receiptSigningInput(signed.receipt);
 * ```
 */
export function receiptSigningInput(receipt: Receipt): Uint8Array {
  return concatBytes(contextPrefix(SIGNATURE_CONTEXTS.receipt), canonicalBytes(receipt));
}

/**
 * Signs a delivery or read receipt with the Ed25519 secret key of `receipt.by`'s device.
 * Throws a `TypeError` naming the invalid fields when `receipt` does not match the schema.
 *
 * @example
 * ```ts
 * const signed = await signReceipt(
 *   { v: 1, conv, type: 'read', ids: [envelope.header.id], by: me, ts: Date.now() },
 *   myKeys.signing.secretKey,
 * );
 * ```
 */
export async function signReceipt(receipt: Receipt, signingSecretKey: Uint8Array): Promise<SignedReceipt> {
  assertBytes('signReceipt: signingSecretKey', signingSecretKey, DEVICE_KEY_SIZES.signingSecretKey);
  const parsed = receiptSchema.safeParse(receipt);
  if (!parsed.success) throw inputError('signReceipt: receipt', parsed.error);
  const sodium = await getSodium();
  const sig = sodium.crypto_sign_detached(receiptSigningInput(parsed.data), signingSecretKey);
  return { receipt: parsed.data, sig: toBase64url(sig) };
}

/**
 * Whether `signed` is a valid signed receipt (schema) whose signature verifies with the
 * Ed25519 public key of `receipt.by`'s device. False, never an exception, otherwise.
 *
 * @example
 * ```ts
 * if (await verifyReceipt(item.receipt, readerSigningKey)) markRead(item.receipt.receipt.ids);
 * ```
 */
export async function verifyReceipt(signed: SignedReceipt, signingPublicKey: Uint8Array): Promise<boolean> {
  const sodium = await getSodium();
  try {
    const parsed = signedReceiptSchema.safeParse(signed);
    if (!parsed.success || canonicalJson(parsed.data) !== canonicalJson(signed)) return false;
    return verifyDetached(sodium, parsed.data.sig, receiptSigningInput(parsed.data.receipt), signingPublicKey);
  } catch {
    // canonicalJson refuses a value with no JSON form: not a receipt.
    return false;
  }
}
