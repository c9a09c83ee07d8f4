import { exportDeviceKeys } from '@ncp-hub/crypto';
import { PASSPHRASE_LIMITS } from '@ncp-hub/crypto/passphrase-box';
import { fromBase64url, toBase64url } from '@ncp-hub/protocol';
import { describe, expect, it } from 'vitest';
import { exportDevice, importDevice } from '../../src/client/device-export.js';
import { LocalDevice } from '../../src/client/local-device.js';
import { STORE_KEYS } from '../../src/client/store-keys.js';
import { MemoryKeyStore } from '../../src/store/index.js';

const passphrase = 'a passphrase of some length';
// Tests use the floor (64 MiB, 2 passes) to stay short; the default stays MODERATE.
const options = { limits: PASSPHRASE_LIMITS.interactive };

/** A store with a device and some of the SDK's state, and an application's own key. */
async function deviceStore() {
  const store = new MemoryKeyStore();
  const device = await LocalDevice.load(store, 'laptop-1');
  await LocalDevice.load(store, 'other-device');
  await store.set(STORE_KEYS.sendSequence('c-1'), 7);
  await store.set(STORE_KEYS.receiveState('c-1'), { recent: ['m-1'] });
  await store.set(STORE_KEYS.knownChain('c-1'), { length: 2, head: 'h' });
  await store.set(STORE_KEYS.queryEvents('q-1'), ['e-1']);
  await store.set(STORE_KEYS.agencyKeys('PL-KGP'), { keys: [] });
  await store.set('app:theme', 'dark');
  return { store, device };
}

async function expectCode(promise: Promise<unknown>) {
  await expect(promise).rejects.toMatchObject({ name: 'ClientError', code: 'KEY_EXPORT_INVALID' });
}

describe('exportDevice and importDevice', () => {
  it('move the device keys and the SDK state, and nothing else, into another store', async () => {
    const { store, device } = await deviceStore();
    const exported = await exportDevice(store, 'laptop-1', passphrase, options);
    expect(JSON.parse(exported)).toMatchObject({ v: 1, kdf: { alg: 'argon2id13', opslimit: 2, memlimit: 67_108_864 } });
    expect(exported).not.toContain(toBase64url(device.keys.signing.secretKey));

    const moved = new MemoryKeyStore();
    expect(await importDevice(moved, exported, passphrase)).toBe('laptop-1');
    const again = await LocalDevice.load(moved, 'laptop-1');
    expect(exportDeviceKeys(again.keys)).toEqual(exportDeviceKeys(device.keys));
    expect(again.publicKeys()).toEqual(device.publicKeys());
    expect(await moved.keys()).toEqual(
      [
        'device:laptop-1',
        STORE_KEYS.sendSequence('c-1'),
        STORE_KEYS.receiveState('c-1'),
        STORE_KEYS.knownChain('c-1'),
        STORE_KEYS.queryEvents('q-1'),
        STORE_KEYS.agencyKeys('PL-KGP'),
      ].sort(),
    );
    expect(await moved.get(STORE_KEYS.sendSequence('c-1'))).toBe(7);
    expect(await moved.get(STORE_KEYS.knownChain('c-1'))).toEqual({ length: 2, head: 'h' });
    // Importing the same device again (the same keys) is allowed.
    await importDevice(moved, exported, passphrase);
  });

  it('refuse a wrong passphrase and a flipped byte with KEY_EXPORT_INVALID, writing nothing', async () => {
    const { store } = await deviceStore();
    const exported = await exportDevice(store, 'laptop-1', passphrase, options);
    const target = new MemoryKeyStore();
    await expectCode(importDevice(target, exported, 'not the passphrase'));
    const sealed = JSON.parse(exported) as { box: string };
    const box = fromBase64url(sealed.box);
    box[10] = (box[10] as number) ^ 0x80;
    await expectCode(importDevice(target, JSON.stringify({ ...sealed, box: toBase64url(box) }), passphrase));
    await expectCode(importDevice(target, `${exported.slice(0, -2)}`, passphrase));
    await expectCode(importDevice(target, '{}', passphrase));
    expect(await target.keys()).toEqual([]);
  });

  it('refuse an export with Argon2id limits below the floor', async () => {
    const { store } = await deviceStore();
    const sealed = JSON.parse(await exportDevice(store, 'laptop-1', passphrase, options)) as {
      kdf: { memlimit: number };
    };
    sealed.kdf.memlimit = 1_048_576;
    await expectCode(importDevice(new MemoryKeyStore(), JSON.stringify(sealed), passphrase));
    await expect(
      exportDevice(store, 'laptop-1', passphrase, { limits: { opslimit: 1, memlimit: 8_192 } }),
    ).rejects.toThrow(RangeError);
  });

  it('refuse to replace other keys of the same device, and to export a device the store does not hold', async () => {
    const { store } = await deviceStore();
    const exported = await exportDevice(store, 'laptop-1', passphrase, options);
    const target = new MemoryKeyStore();
    const existing = await LocalDevice.load(target, 'laptop-1');
    await expectCode(importDevice(target, exported, passphrase));
    expect((await LocalDevice.load(target, 'laptop-1')).publicKeys()).toEqual(existing.publicKeys());
    expect(await target.keys()).toEqual(['device:laptop-1']);
    await expect(exportDevice(store, 'unknown', passphrase, options)).rejects.toThrow(TypeError);
  });
});
