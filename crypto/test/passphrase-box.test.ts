import { fromBase64url, toBase64url } from '@ncp-hub/protocol';
import { describe, expect, it } from 'vitest';
import {
  openWithPassphrase,
  PASSPHRASE_LIMITS,
  type PassphraseBox,
  sealWithPassphrase,
} from '../src/passphrase-box.js';

const passphrase = 'correct horse battery staple';
const secret = new TextEncoder().encode('the device keys, say');
// Tests use the floor (64 MiB, 2 passes) to stay short; the default stays MODERATE.
const fast = PASSPHRASE_LIMITS.interactive;

/** `sealed` with one bit of `field` (a base64url byte string) flipped. */
function flipped(sealed: PassphraseBox, field: 'nonce' | 'box' | 'salt'): PassphraseBox {
  const copy = structuredClone(sealed);
  const bytes = fromBase64url(field === 'salt' ? copy.kdf.salt : copy[field]);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
  if (field === 'salt') copy.kdf.salt = toBase64url(bytes);
  else copy[field] = toBase64url(bytes);
  return copy;
}

async function expectCode(promise: Promise<unknown>) {
  await expect(promise).rejects.toMatchObject({ name: 'ClientError', code: 'KEY_EXPORT_INVALID' });
}

describe('passphrase box', () => {
  it('opens with the passphrase it was sealed with, and records its Argon2id parameters', async () => {
    const sealed = await sealWithPassphrase(secret, passphrase, fast);
    expect(sealed).toEqual({
      v: 1,
      kdf: { alg: 'argon2id13', opslimit: 2, memlimit: 67_108_864, salt: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) },
      nonce: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/),
      box: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
    });
    expect(await openWithPassphrase(JSON.parse(JSON.stringify(sealed)), passphrase)).toEqual(secret);
    const again = await sealWithPassphrase(secret, passphrase, fast);
    expect(again.kdf.salt).not.toBe(sealed.kdf.salt);
    expect(again.nonce).not.toBe(sealed.nonce);
  });

  it('defaults to MODERATE (3 passes, 256 MiB)', async () => {
    const sealed = await sealWithPassphrase(secret, passphrase);
    expect(sealed.kdf).toMatchObject({ opslimit: 3, memlimit: 268_435_456 });
    expect(PASSPHRASE_LIMITS.moderate).toEqual({ opslimit: 3, memlimit: 268_435_456 });
  });

  it('refuses a wrong passphrase, and a flipped byte of the box, the nonce or the salt, with KEY_EXPORT_INVALID', async () => {
    const sealed = await sealWithPassphrase(secret, passphrase, fast);
    await expectCode(openWithPassphrase(sealed, 'correct horse battery stapler'));
    await expectCode(openWithPassphrase(flipped(sealed, 'box'), passphrase));
    await expectCode(openWithPassphrase(flipped(sealed, 'nonce'), passphrase));
    await expectCode(openWithPassphrase(flipped(sealed, 'salt'), passphrase));
    await expectCode(openWithPassphrase({ ...sealed, kdf: { ...sealed.kdf, opslimit: 3 } }, passphrase));
  });

  it('refuses another version, another algorithm, extra fields and non-JSON shapes', async () => {
    const sealed = await sealWithPassphrase(secret, passphrase, fast);
    await expectCode(openWithPassphrase({ ...sealed, v: 2 }, passphrase));
    await expectCode(openWithPassphrase({ ...sealed, kdf: { ...sealed.kdf, alg: 'argon2i13' } }, passphrase));
    await expectCode(openWithPassphrase({ ...sealed, extra: 1 }, passphrase));
    await expectCode(openWithPassphrase({ ...sealed, box: 'A' }, passphrase));
    await expectCode(openWithPassphrase('not a box', passphrase));
    await expectCode(openWithPassphrase(null, passphrase));
  });

  it('refuses limits below the floor or above the ceiling, when opening and when sealing', async () => {
    const sealed = await sealWithPassphrase(secret, passphrase, fast);
    await expectCode(openWithPassphrase({ ...sealed, kdf: { ...sealed.kdf, opslimit: 1 } }, passphrase));
    await expectCode(openWithPassphrase({ ...sealed, kdf: { ...sealed.kdf, memlimit: 8_192 } }, passphrase));
    await expectCode(openWithPassphrase({ ...sealed, kdf: { ...sealed.kdf, memlimit: 2 ** 40 } }, passphrase));
    await expectCode(openWithPassphrase({ ...sealed, kdf: { ...sealed.kdf, opslimit: 1_000 } }, passphrase));
    await expect(sealWithPassphrase(secret, passphrase, { opslimit: 1, memlimit: 67_108_864 })).rejects.toThrow(
      RangeError,
    );
    await expect(sealWithPassphrase(secret, passphrase, { opslimit: 2, memlimit: 8_192 })).rejects.toThrow(RangeError);
  });

  it('refuses a passphrase shorter than 8 characters', async () => {
    await expect(sealWithPassphrase(secret, 'short', fast)).rejects.toThrow(TypeError);
  });
});
