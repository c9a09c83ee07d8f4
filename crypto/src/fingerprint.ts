import { compareBytes, concatBytes, contextPrefix, lengthPrefixed, u32be, utf8Bytes } from './bytes.js';
import { DEVICE_KEY_SIZES } from './device-keys.js';
import { getSodium } from './sodium.js';

/** Domain-separation contexts of the fingerprints (ASCII, then one 0x00 byte). */
export const FINGERPRINT_CONTEXTS = {
  device: 'ncp-hub/device-fingerprint/v1',
  safetyNumber: 'ncp-hub/safety-number/v1',
} as const;

/** One side of a safety number: an officer and the signing keys of all their devices. */
export interface SafetyNumberSide {
  /** The officer's address, `AGENCY/officer`. */
  officer: string;
  /** Ed25519 public keys (32 bytes each) of the officer's devices, in any order. */
  signingKeys: readonly Uint8Array[];
}

/** `count` groups of 5 decimal digits from `digest`: each 5-byte chunk, big-endian, mod 100000. */
function digitGroups(digest: Uint8Array, count: number): string[] {
  const groups: string[] = [];
  for (let g = 0; g < count; g++) {
    let n = 0;
    for (let j = 0; j < 5; j++) n = n * 256 + (digest[g * 5 + j] as number);
    groups.push(String(n % 100_000).padStart(5, '0'));
  }
  return groups;
}

function assertSigningKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== DEVICE_KEY_SIZES.signingPublicKey) {
    throw new TypeError(`fingerprint: a signing key must be ${DEVICE_KEY_SIZES.signingPublicKey} bytes`);
  }
}

/**
 * The fingerprint of one device's Ed25519 public key, 60 digits in 12 groups of 5 separated
 * by single spaces. Derivation:
 *
 * ```
 * D = BLAKE2b-512(ASCII("ncp-hub/device-fingerprint/v1") || 0x00 || signingPublicKey)   (crypto_generichash(64, ..., no key))
 * group g (g = 0..11) = (D[5g..5g+4] as a 40-bit big-endian unsigned integer) mod 100000, 5 digits with leading zeros
 * ```
 *
 * @example
 * ```ts
 * await deviceFingerprint(keys.signing.publicKey); // '03841 77250 ... 51906' (12 groups)
 * ```
 */
export async function deviceFingerprint(signingPublicKey: Uint8Array): Promise<string> {
  assertSigningKey(signingPublicKey);
  const sodium = await getSodium();
  const digest = sodium.crypto_generichash(
    64,
    concatBytes(contextPrefix(FINGERPRINT_CONTEXTS.device), signingPublicKey),
    null,
  );
  return digitGroups(digest, 12).join(' ');
}

/** The 30 digits (6 groups) of one side. */
async function sideDigits(side: SafetyNumberSide): Promise<string> {
  if (typeof side.officer !== 'string' || side.officer.length === 0) {
    throw new TypeError('safetyNumber: officer must be a non-empty string');
  }
  if (side.signingKeys.length === 0) throw new TypeError('safetyNumber: each side needs at least one signing key');
  side.signingKeys.forEach(assertSigningKey);
  const keys = [...side.signingKeys]
    .sort(compareBytes)
    .filter((key, i, all) => i === 0 || compareBytes(all[i - 1] as Uint8Array, key) !== 0);
  const sodium = await getSodium();
  const digest = sodium.crypto_generichash(
    64,
    concatBytes(
      contextPrefix(FINGERPRINT_CONTEXTS.safetyNumber),
      lengthPrefixed(utf8Bytes(side.officer)),
      u32be(keys.length),
      ...keys,
    ),
    null,
  );
  return digitGroups(digest, 6).join('');
}

/**
 * The safety number of two officers, 60 digits in 12 groups of 5: both officers see the
 * same number whatever the argument order, and it changes when any device key of either
 * side is added, removed or replaced. Derivation, per side:
 *
 * ```
 * K = the side's 32-byte Ed25519 public keys, sorted bytewise, duplicates removed
 * D = BLAKE2b-512(ASCII("ncp-hub/safety-number/v1") || 0x00
 *                 || u32be(len(O)) || O          O = UTF-8 of the officer address
 *                 || u32be(count(K)) || K[0] || K[1] || ...)
 * side digits = 6 groups from D[0..29] (each 5-byte chunk, big-endian, mod 100000, 5 digits)
 * ```
 *
 * The two 30-digit strings are sorted (as strings) and concatenated; the 60 digits are
 * shown in 12 groups of 5 separated by single spaces.
 *
 * @example
 * ```ts
 * const number = await safetyNumber(
 *   { officer: 'UA-NPU/ivan', signingKeys: ivanDeviceKeys },
 *   { officer: 'PL-KGP/anna', signingKeys: annaDeviceKeys },
 * );
 * ```
 */
export async function safetyNumber(a: SafetyNumberSide, b: SafetyNumberSide): Promise<string> {
  const sides = [await sideDigits(a), await sideDigits(b)].sort();
  return (sides.join('').match(/\d{5}/g) as string[]).join(' ');
}
