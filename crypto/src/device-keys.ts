import { base64urlOfBytes, fromBase64url, toBase64url } from '@ncp-hub/protocol';
import { z } from 'zod';
import { equalBytes } from './bytes.js';
import { assertBytes, inputError } from './input-error.js';
import { getSodium } from './sodium.js';

/** The two key pairs of one officer device. Secret keys never leave the device. */
export interface DeviceKeys {
  /** X25519 (`crypto_box`): the message key is sealed to `publicKey`. */
  encryption: { publicKey: Uint8Array; secretKey: Uint8Array };
  /** Ed25519 (`crypto_sign`): signs envelopes, membership records and receipts. */
  signing: { publicKey: Uint8Array; secretKey: Uint8Array };
}

/** Key sizes in bytes. */
export const DEVICE_KEY_SIZES = {
  encryptionPublicKey: 32,
  encryptionSecretKey: 32,
  signingPublicKey: 32,
  /** libsodium's Ed25519 secret key: 32-byte seed followed by the 32-byte public key. */
  signingSecretKey: 64,
} as const;

/** JSON-safe form of {@link DeviceKeys}: every key as unpadded base64url. */
export const storedDeviceKeysSchema = z.strictObject({
  v: z.literal(1),
  encryption: z.strictObject({
    publicKey: base64urlOfBytes(DEVICE_KEY_SIZES.encryptionPublicKey),
    secretKey: base64urlOfBytes(DEVICE_KEY_SIZES.encryptionSecretKey),
  }),
  signing: z.strictObject({
    publicKey: base64urlOfBytes(DEVICE_KEY_SIZES.signingPublicKey),
    secretKey: base64urlOfBytes(DEVICE_KEY_SIZES.signingSecretKey),
  }),
});
export type StoredDeviceKeys = z.infer<typeof storedDeviceKeysSchema>;

/**
 * New device keys: X25519 from `crypto_box_keypair`, Ed25519 from `crypto_sign_keypair`.
 *
 * @example
 * ```ts
 * const keys = await generateDeviceKeys();
 * keys.signing.publicKey.length; // 32
 * ```
 */
export async function generateDeviceKeys(): Promise<DeviceKeys> {
  const sodium = await getSodium();
  const encryption = sodium.crypto_box_keypair();
  const signing = sodium.crypto_sign_keypair();
  return {
    encryption: { publicKey: encryption.publicKey, secretKey: encryption.privateKey },
    signing: { publicKey: signing.publicKey, secretKey: signing.privateKey },
  };
}

/**
 * The JSON-safe form of `keys`, for a key store. It holds the secret keys: store it as such.
 * Throws a `TypeError` when a key has the wrong size.
 *
 * @example
 * ```ts
 * const stored = exportDeviceKeys(await generateDeviceKeys());
 * localStorageLikeStore.set('device-keys', JSON.stringify(stored));
 * ```
 */
export function exportDeviceKeys(keys: DeviceKeys): StoredDeviceKeys {
  assertBytes('device keys: encryption.publicKey', keys.encryption.publicKey, DEVICE_KEY_SIZES.encryptionPublicKey);
  assertBytes('device keys: encryption.secretKey', keys.encryption.secretKey, DEVICE_KEY_SIZES.encryptionSecretKey);
  assertBytes('device keys: signing.publicKey', keys.signing.publicKey, DEVICE_KEY_SIZES.signingPublicKey);
  assertBytes('device keys: signing.secretKey', keys.signing.secretKey, DEVICE_KEY_SIZES.signingSecretKey);
  return {
    v: 1,
    encryption: {
      publicKey: toBase64url(keys.encryption.publicKey),
      secretKey: toBase64url(keys.encryption.secretKey),
    },
    signing: { publicKey: toBase64url(keys.signing.publicKey), secretKey: toBase64url(keys.signing.secretKey) },
  };
}

/**
 * Device keys from their stored form. Throws a `TypeError` (naming the field, never a key)
 * when `stored` does not match {@link storedDeviceKeysSchema}, or when the Ed25519 secret
 * key does not end with its public key.
 *
 * @example
 * ```ts
 * const keys = importDeviceKeys(JSON.parse(localStorageLikeStore.get('device-keys')));
 * ```
 */
export function importDeviceKeys(stored: unknown): DeviceKeys {
  const parsed = storedDeviceKeysSchema.safeParse(stored);
  if (!parsed.success) {
    throw inputError('device keys', parsed.error);
  }
  const keys: DeviceKeys = {
    encryption: {
      publicKey: fromBase64url(parsed.data.encryption.publicKey),
      secretKey: fromBase64url(parsed.data.encryption.secretKey),
    },
    signing: {
      publicKey: fromBase64url(parsed.data.signing.publicKey),
      secretKey: fromBase64url(parsed.data.signing.secretKey),
    },
  };
  if (!equalBytes(keys.signing.secretKey.subarray(32), keys.signing.publicKey)) {
    throw new TypeError('device keys: the signing secret key does not match the signing public key');
  }
  return keys;
}
