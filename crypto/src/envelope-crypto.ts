import type { DeviceAddress } from '@ncp-hub/protocol';
import {
  UndecryptableError as CryptoCheckError,
  canonicalBytes,
  ENVELOPE_SIZES,
  ENVELOPE_VERSION,
  type Envelope,
  type EnvelopeHeader,
  envelopeHeaderSchema,
  envelopeSchema,
  fromBase64url,
  SIGNATURE_CONTEXTS,
  toBase64url,
} from '@ncp-hub/protocol';
import { concatBytes, contextPrefix, equalBytes, lengthPrefixed } from './bytes.js';
import { decodeContent, encodeContent, type MessageContent } from './content.js';
import { DEVICE_KEY_SIZES } from './device-keys.js';
import { assertBytes, inputError } from './input-error.js';
import { getSodium, randomBytes } from './sodium.js';
import { orUndecryptable, verifyDetached } from './sodium-failures.js';

/** A device an envelope is sealed to. */
export interface EnvelopeRecipient {
  address: DeviceAddress;
  /** The device's X25519 public key (from its verified attestation). */
  encryptionKey: Uint8Array;
}

/** What {@link sealEnvelope} needs. */
export interface SealEnvelopeInput {
  /** The header without `v` (always {@link ENVELOPE_VERSION}) and `to` (made from `recipients`). */
  header: Omit<EnvelopeHeader, 'v' | 'to'>;
  content: MessageContent;
  /** Every device that may read the message, the sender's other devices included; duplicates are merged. */
  recipients: readonly EnvelopeRecipient[];
  /** The sender device's Ed25519 secret key (64 bytes). */
  signingSecretKey: Uint8Array;
  /** TEST VECTORS ONLY: a fixed 32-byte message key instead of a random one. */
  messageKey?: Uint8Array;
  /** TEST VECTORS ONLY: a fixed 24-byte nonce instead of a random one. */
  nonce?: Uint8Array;
}

/** What {@link openEnvelope} needs. */
export interface OpenEnvelopeInput {
  /** The envelope as received: validated here. */
  envelope: unknown;
  /** This device: its address and X25519 key pair. */
  recipient: { address: DeviceAddress; encryption: { publicKey: Uint8Array; secretKey: Uint8Array } };
  /** The Ed25519 public key of `header.from`, from its verified attestation. */
  senderSigningKey: Uint8Array;
}

/** An envelope before its signature. */
export type UnsignedEnvelope = Omit<Envelope, 'sig'>;

/** The signing input from its parts; `headerBytes` is the canonical header (also the AD). */
function signingInputOf(
  headerBytes: Uint8Array,
  nonce: Uint8Array,
  ct: Uint8Array,
  keys: Envelope['keys'],
): Uint8Array {
  if (nonce.length !== ENVELOPE_SIZES.nonce) {
    throw new TypeError(`envelope: the nonce must be ${ENVELOPE_SIZES.nonce} bytes`);
  }
  return concatBytes(
    contextPrefix(SIGNATURE_CONTEXTS.envelope),
    lengthPrefixed(headerBytes),
    nonce,
    lengthPrefixed(ct),
    lengthPrefixed(canonicalBytes(keys)),
  );
}

/**
 * The bytes the sender device signs:
 *
 * ```
 * ASCII("ncp-hub/envelope/v1") || 0x00
 * || u32be(len(H)) || H          H = UTF-8 of the RFC 8785 canonical JSON of header
 * || nonce                       24 bytes
 * || u32be(len(ct)) || ct        the AEAD ciphertext, tag included
 * || u32be(len(W)) || W          W = UTF-8 of the RFC 8785 canonical JSON of keys
 * ```
 *
 * `u32be` is a 4-byte big-endian length. Throws a `TypeError` when `nonce` or `ct` is not
 * canonical unpadded base64url, or the nonce is not 24 bytes.
 *
 * @example
 * ```ts
 * const ok = sodium.crypto_sign_verify_detached(fromBase64url(envelope.sig), envelopeSigningInput(envelope), senderKey);
 * ```
 */
export function envelopeSigningInput(envelope: UnsignedEnvelope): Uint8Array {
  return signingInputOf(
    canonicalBytes(envelope.header),
    fromBase64url(envelope.nonce),
    fromBase64url(envelope.ct),
    envelope.keys,
  );
}

/**
 * Encrypts `content` to every device of `recipients` and signs the envelope.
 *
 * - `header.v` = 1, `header.to` = the recipient addresses, sorted and unique;
 * - `k` = 32 random bytes, `nonce` = 24 random bytes (from `crypto.getRandomValues`);
 * - `ct` = XChaCha20-Poly1305-IETF(plaintext = {@link encodeContent}(content),
 *   AD = canonical header bytes, nonce, k);
 * - `keys[address]` = `crypto_box_seal(k, encryptionKey)`;
 * - `sig` = Ed25519 over {@link envelopeSigningInput}.
 *
 * Throws a `TypeError` (naming the field, never a value) when the header, content or a key
 * is invalid, or when one address is given two different encryption keys.
 *
 * @example
 * ```ts
 * const envelope = await sealEnvelope({
 *   header: { id, conv, from: { agency: 'UA-NPU', officer: 'ivan', device: 'laptop' }, ts: Date.now(), seq: 1, kind: 'chat' },
 *   content: { v: 1, type: 'text', text: 'Suspect boarded flight PS101.' },
 *   recipients: [
 *     { address: 'PL-KGP/anna/phone', encryptionKey: annaPhoneX25519 },
 *     { address: 'UA-NPU/ivan/phone', encryptionKey: myPhoneX25519 },
 *   ],
 *   signingSecretKey: myKeys.signing.secretKey,
 * });
 * ```
 */
export async function sealEnvelope(input: SealEnvelopeInput): Promise<Envelope> {
  const sodium = await getSodium();
  assertBytes('sealEnvelope: signingSecretKey', input.signingSecretKey, DEVICE_KEY_SIZES.signingSecretKey);
  const encryptionKeys = new Map<DeviceAddress, Uint8Array>();
  for (const { address, encryptionKey } of input.recipients) {
    assertBytes('sealEnvelope: recipients.encryptionKey', encryptionKey, DEVICE_KEY_SIZES.encryptionPublicKey);
    const known = encryptionKeys.get(address);
    if (known !== undefined && !equalBytes(known, encryptionKey)) {
      throw new TypeError('sealEnvelope: two different encryption keys for one recipient device');
    }
    encryptionKeys.set(address, encryptionKey);
  }
  // Default sort: UTF-16 code units, the order `header.to` is checked in.
  const to = [...encryptionKeys.keys()].sort();
  const { id, conv, from, ts, seq, kind } = input.header;
  const parsedHeader = envelopeHeaderSchema.safeParse({ v: ENVELOPE_VERSION, id, conv, from, ts, seq, kind, to });
  if (!parsedHeader.success) {
    throw inputError('sealEnvelope: header', parsedHeader.error);
  }
  const header = parsedHeader.data;

  const messageKey = input.messageKey ?? randomBytes(ENVELOPE_SIZES.messageKey);
  assertBytes('sealEnvelope: messageKey', messageKey, ENVELOPE_SIZES.messageKey);
  const nonce = input.nonce ?? randomBytes(ENVELOPE_SIZES.nonce);
  assertBytes('sealEnvelope: nonce', nonce, ENVELOPE_SIZES.nonce);

  const plaintext = await encodeContent(input.content);
  const headerBytes = canonicalBytes(header);
  const ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, headerBytes, null, nonce, messageKey);
  sodium.memzero(plaintext);
  const keys: Record<DeviceAddress, string> = {};
  for (const address of to) {
    keys[address] = toBase64url(sodium.crypto_box_seal(messageKey, encryptionKeys.get(address) as Uint8Array));
  }
  if (input.messageKey === undefined) sodium.memzero(messageKey);

  const unsigned: UnsignedEnvelope = { header, nonce: toBase64url(nonce), ct: toBase64url(ct), keys };
  const sig = sodium.crypto_sign_detached(signingInputOf(headerBytes, nonce, ct, keys), input.signingSecretKey);
  return { ...unsigned, sig: toBase64url(sig) };
}

/**
 * Whether `envelope.sig` is the Ed25519 signature of {@link envelopeSigningInput} by
 * `senderSigningKey`. False, never an exception, for anything that does not verify.
 *
 * @example
 * ```ts
 * if (!(await verifyEnvelopeSignature(envelope, senderSigningKey))) dropEnvelope(envelope);
 * ```
 */
export async function verifyEnvelopeSignature(envelope: Envelope, senderSigningKey: Uint8Array): Promise<boolean> {
  const sodium = await getSodium();
  try {
    const sig = fromBase64url(envelope.sig);
    if (sig.length !== ENVELOPE_SIZES.signature) return false;
    return verifyDetached(sodium, sig, envelopeSigningInput(envelope), senderSigningKey);
  } catch {
    // envelopeSigningInput refuses a value that is not an envelope (no canonical JSON).
    return false;
  }
}

function decodeOrMalformed(text: string): Uint8Array {
  return orUndecryptable('MALFORMED', () => fromBase64url(text));
}

/**
 * Checks and decrypts an envelope for this device, in this order, stopping at the first
 * failure with a {@link CryptoCheckError}:
 *
 * 1. `MALFORMED` — not an envelope (schema), or a field is not canonical base64url;
 * 2. `SIGNATURE_INVALID` — the signature does not verify with `senderSigningKey`;
 * 3. `NOT_A_RECIPIENT` — this device's address is not in `header.to` and `keys`;
 * 4. `DECRYPT_FAILED` — its sealed key does not open, or the AEAD (with the canonical
 *    header as associated data) fails;
 * 5. `CONTENT_INVALID` — the plaintext is not a valid padded content.
 *
 * The caller has already checked the sender device (attestation, membership, conversation).
 * Nothing decrypted is returned or kept after a failed check. Throws a `TypeError` when the
 * recipient's own keys have the wrong size.
 *
 * @example
 * ```ts
 * const content = await openEnvelope({
 *   envelope: item.envelope,
 *   recipient: { address: 'PL-KGP/anna/phone', encryption: myKeys.encryption },
 *   senderSigningKey,
 * });
 * ```
 */
export async function openEnvelope(input: OpenEnvelopeInput): Promise<MessageContent> {
  const { recipient } = input;
  assertBytes(
    'openEnvelope: recipient.encryption.publicKey',
    recipient.encryption.publicKey,
    DEVICE_KEY_SIZES.encryptionPublicKey,
  );
  assertBytes(
    'openEnvelope: recipient.encryption.secretKey',
    recipient.encryption.secretKey,
    DEVICE_KEY_SIZES.encryptionSecretKey,
  );
  const sodium = await getSodium();

  const parsed = envelopeSchema.safeParse(input.envelope);
  if (!parsed.success) throw new CryptoCheckError('MALFORMED');
  const envelope = parsed.data as Envelope;
  const nonce = decodeOrMalformed(envelope.nonce);
  const ct = decodeOrMalformed(envelope.ct);
  const sig = decodeOrMalformed(envelope.sig);
  // Every sealed key is checked, so that all recipients reach the same verdict.
  const sealedKeys = new Map<string, Uint8Array>();
  for (const [address, sealed] of Object.entries(envelope.keys)) {
    sealedKeys.set(address, decodeOrMalformed(sealed));
  }

  const headerBytes = canonicalBytes(envelope.header);
  const signatureValid = verifyDetached(
    sodium,
    sig,
    signingInputOf(headerBytes, nonce, ct, envelope.keys),
    input.senderSigningKey,
  );
  if (!signatureValid) throw new CryptoCheckError('SIGNATURE_INVALID');

  const sealedKey = sealedKeys.get(recipient.address);
  if (!envelope.header.to.includes(recipient.address) || sealedKey === undefined) {
    throw new CryptoCheckError('NOT_A_RECIPIENT');
  }

  const messageKey = orUndecryptable('DECRYPT_FAILED', () =>
    sodium.crypto_box_seal_open(sealedKey, recipient.encryption.publicKey, recipient.encryption.secretKey),
  );
  let plaintext: Uint8Array;
  try {
    if (messageKey.length !== ENVELOPE_SIZES.messageKey) throw new CryptoCheckError('DECRYPT_FAILED');
    plaintext = orUndecryptable('DECRYPT_FAILED', () =>
      sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ct, headerBytes, nonce, messageKey),
    );
  } finally {
    sodium.memzero(messageKey);
  }
  try {
    return await decodeContent(plaintext);
  } finally {
    sodium.memzero(plaintext);
  }
}
