/**
 * The one place where libsodium failures become hub errors. libsodium-wrappers throws plain
 * `Error`s (`incorrect key pair for the given ciphertext`, `invalid input` …) or returns
 * false; which it does varies by call and by input length. Every check of the crypto layer
 * goes through these two functions, so a failure always has the same, fixed, secret-free
 * form: `false` for a signature, an {@link UndecryptableError} with its reason otherwise. The
 * libsodium message is dropped, never kept as a cause: it could describe an input.
 */
import { fromBase64url, UndecryptableError, type UndecryptableReason } from '@ncp-hub/protocol';
import type { Sodium } from './sodium.js';

/**
 * Whether `signature` is a valid Ed25519 signature of `message` by `publicKey`: false for a
 * wrong signature and for anything libsodium refuses (a key or signature of the wrong size).
 */
export function verifyDetached(
  sodium: Sodium,
  signature: Uint8Array | string,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  try {
    const bytes = typeof signature === 'string' ? fromBase64url(signature) : signature;
    return sodium.crypto_sign_verify_detached(bytes, message, publicKey);
  } catch {
    return false;
  }
}

/**
 * The result of `call`, or an {@link UndecryptableError} with `reason` when it throws (a
 * libsodium failure, a strict base64url decoder's refusal, a JSON parse of bad plaintext).
 */
export function orUndecryptable<T>(reason: UndecryptableReason, call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof UndecryptableError) throw error;
    throw new UndecryptableError(reason);
  }
}
