import { UndecryptableError } from '@ncp-hub/protocol';
import { describe, expect, it } from 'vitest';
import { getSodium, randomBytes } from '../src/index.js';
import { orUndecryptable, verifyDetached } from '../src/sodium-failures.js';

describe('libsodium failures, mapped in one place', () => {
  it('a signature check is false, never a throw, for a wrong signature and for inputs libsodium refuses', async () => {
    const sodium = await getSodium();
    const { publicKey, privateKey } = sodium.crypto_sign_keypair();
    const message = randomBytes(40);
    const signature = sodium.crypto_sign_detached(message, privateKey);
    expect(verifyDetached(sodium, signature, message, publicKey)).toBe(true);
    expect(verifyDetached(sodium, signature, randomBytes(40), publicKey)).toBe(false);
    expect(verifyDetached(sodium, signature, message, randomBytes(31))).toBe(false);
    expect(verifyDetached(sodium, signature.subarray(1), message, publicKey)).toBe(false);
    expect(verifyDetached(sodium, 'not base64url!', message, publicKey)).toBe(false);
  });

  it('a failed libsodium call becomes UNDECRYPTABLE with the given reason, its message dropped', async () => {
    const sodium = await getSodium();
    const keys = sodium.crypto_box_keypair();
    const error = (() => {
      try {
        return orUndecryptable('DECRYPT_FAILED', () =>
          sodium.crypto_box_seal_open(randomBytes(80), keys.publicKey, keys.privateKey),
        );
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(UndecryptableError);
    expect(error).toMatchObject({ code: 'UNDECRYPTABLE', reason: 'DECRYPT_FAILED' });
    expect((error as Error).cause).toBeUndefined();
    expect((error as Error).message).toBe(new UndecryptableError('DECRYPT_FAILED').message);
  });

  it('an UndecryptableError raised inside keeps its own reason', () => {
    expect(() =>
      orUndecryptable('DECRYPT_FAILED', () => {
        throw new UndecryptableError('CONTENT_INVALID');
      }),
    ).toThrow(expect.objectContaining({ reason: 'CONTENT_INVALID' }));
    expect(orUndecryptable('MALFORMED', () => 42)).toBe(42);
  });
});
