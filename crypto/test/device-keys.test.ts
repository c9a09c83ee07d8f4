import { toBase64url } from '@ncp-hub/protocol';
import { describe, expect, it } from 'vitest';
import {
  exportDeviceKeys,
  generateDeviceKeys,
  getSodium,
  importDeviceKeys,
  type StoredDeviceKeys,
} from '../src/index.js';

describe('device keys', () => {
  it('are an X25519 and an Ed25519 key pair', async () => {
    const sodium = await getSodium();
    const keys = await generateDeviceKeys();
    expect(keys.encryption.publicKey).toHaveLength(32);
    expect(keys.encryption.secretKey).toHaveLength(32);
    expect(keys.signing.publicKey).toHaveLength(32);
    expect(keys.signing.secretKey).toHaveLength(64);
    expect(sodium.crypto_scalarmult_base(keys.encryption.secretKey)).toEqual(keys.encryption.publicKey);
    expect(sodium.crypto_sign_seed_keypair(keys.signing.secretKey.subarray(0, 32)).publicKey).toEqual(
      keys.signing.publicKey,
    );
    const other = await generateDeviceKeys();
    expect(other.signing.publicKey).not.toEqual(keys.signing.publicKey);
  });

  it('export to JSON-safe base64url and import back', async () => {
    const keys = await generateDeviceKeys();
    const stored = exportDeviceKeys(keys);
    expect(stored.v).toBe(1);
    expect(stored.signing.publicKey).toBe(toBase64url(keys.signing.publicKey));
    const again = importDeviceKeys(JSON.parse(JSON.stringify(stored)));
    expect(again).toEqual(keys);
  });

  it('refuse stored keys that are invalid, without repeating them', async () => {
    const stored = exportDeviceKeys(await generateDeviceKeys());
    const other = exportDeviceKeys(await generateDeviceKeys());
    const bad: unknown[] = [
      null,
      {},
      { ...stored, v: 2 },
      { ...stored, extra: 1 },
      { ...stored, signing: { ...stored.signing, publicKey: stored.signing.publicKey.slice(1) } },
      { ...stored, encryption: { ...stored.encryption, secretKey: `${stored.encryption.secretKey.slice(0, -1)}=` } },
      { ...stored, signing: { ...stored.signing, publicKey: other.signing.publicKey } },
    ];
    for (const value of bad) {
      let message = '';
      expect(() => {
        try {
          importDeviceKeys(value);
        } catch (error) {
          message = (error as Error).message;
          throw error;
        }
      }).toThrow(TypeError);
      expect(message).not.toContain(stored.signing.secretKey.slice(0, 10));
      expect(message).not.toContain(stored.encryption.secretKey.slice(0, 10));
    }
  });

  it('refuse to export keys of the wrong size', async () => {
    const keys = await generateDeviceKeys();
    expect(() => exportDeviceKeys({ ...keys, signing: { ...keys.signing, secretKey: new Uint8Array(32) } })).toThrow(
      TypeError,
    );
    const typed: StoredDeviceKeys = exportDeviceKeys(keys);
    expect(Object.keys(typed).sort()).toEqual(['encryption', 'signing', 'v']);
  });
});
