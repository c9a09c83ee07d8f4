import {
  type DeviceKeys,
  deviceFingerprint,
  exportDeviceKeys,
  generateDeviceKeys,
  importDeviceKeys,
  type StoredDeviceKeys,
} from '@ncp-hub/crypto';
import {
  ClientError,
  type DeviceAddress,
  type DeviceId,
  type DeviceRef,
  deviceAddress,
  type Identity,
  toBase64url,
} from '@ncp-hub/protocol';
import type { KeyStore } from '../store/key-store.js';
import { STORE_KEYS } from './store-keys.js';

/** The public keys of a device, for its agency to attest (base64url, 32 bytes each). */
export interface DevicePublicKeys {
  device: DeviceId;
  encryptionKey: string;
  signingKey: string;
}

/**
 * This device: its id, its keys (made on the device and kept in its key store, never sent
 * anywhere) and the identity the hub verified when it last accepted the connection.
 */
export class LocalDevice {
  readonly id: DeviceId;
  readonly keys: DeviceKeys;
  /** The officer's identity, from the hub's welcome; unknown before the first connection. */
  identity: Identity | undefined;

  private constructor(id: DeviceId, keys: DeviceKeys) {
    this.id = id;
    this.keys = keys;
  }

  /** The device's keys from `store`, or new ones (stored there) on first use. */
  static async load(store: KeyStore, id: DeviceId): Promise<LocalDevice> {
    const stored = await store.get<StoredDeviceKeys>(STORE_KEYS.deviceKeys(id));
    if (stored) return new LocalDevice(id, importDeviceKeys(stored));
    const keys = await generateDeviceKeys();
    await store.set(STORE_KEYS.deviceKeys(id), exportDeviceKeys(keys));
    return new LocalDevice(id, keys);
  }

  /** This device as a {@link DeviceRef}; `NOT_CONNECTED` before the hub has welcomed it once. */
  get ref(): DeviceRef {
    if (!this.identity) throw new ClientError('NOT_CONNECTED', 'connect first: the identity comes from the hub');
    return { agency: this.identity.agency, officer: this.identity.officer, device: this.id };
  }

  /** `AGENCY/officer/device` of {@link LocalDevice.ref}. */
  get address(): DeviceAddress {
    return deviceAddress(this.ref);
  }

  /** This device's fingerprint: 60 digits to read out by phone. */
  fingerprint(): Promise<string> {
    return deviceFingerprint(this.keys.signing.publicKey);
  }

  /** The public keys, for the agency's attestation. */
  publicKeys(): DevicePublicKeys {
    return {
      device: this.id,
      encryptionKey: toBase64url(this.keys.encryption.publicKey),
      signingKey: toBase64url(this.keys.signing.publicKey),
    };
  }
}
