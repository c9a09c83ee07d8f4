/**
 * Moving a device: its keys and the SDK's state for it, sealed under a passphrase
 * (Argon2id, then secretbox), out of one key store and into another. An entry point of its own,
 * `@ncp-hub/client-sdk/device-export`, because the passphrase hashing needs libsodium's larger
 * (sumo) build: an application that does not move devices never bundles it.
 *
 * @module @ncp-hub/client-sdk/device-export
 */

export type { PassphraseBox, PassphraseLimits } from '@ncp-hub/crypto/passphrase-box';
export { MIN_PASSPHRASE_LENGTH, PASSPHRASE_LIMITS } from '@ncp-hub/crypto/passphrase-box';
export type { ExportDeviceOptions } from './client/device-export.js';
export { exportDevice, importDevice } from './client/device-export.js';
