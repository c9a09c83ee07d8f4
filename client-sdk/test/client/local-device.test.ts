import { exportDeviceKeys } from '@ncp-hub/crypto';
import { describe, expect, it } from 'vitest';
import { LocalDevice } from '../../src/client/local-device.js';
import { MemoryKeyStore } from '../../src/store/index.js';

describe('LocalDevice', () => {
  it('makes its keys on first use, keeps them in the store, and finds them again', async () => {
    const store = new MemoryKeyStore();
    const first = await LocalDevice.load(store, 'laptop-1');
    expect(await store.keys()).toEqual(['device:laptop-1']);
    const again = await LocalDevice.load(store, 'laptop-1');
    expect(exportDeviceKeys(again.keys)).toEqual(exportDeviceKeys(first.keys));
    expect(again.publicKeys()).toEqual(first.publicKeys());
    expect(first.publicKeys()).toEqual({
      device: 'laptop-1',
      encryptionKey: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      signingKey: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    const other = await LocalDevice.load(store, 'phone-1');
    expect(other.publicKeys().signingKey).not.toBe(first.publicKeys().signingKey);
  });

  it('has no identity before the hub has welcomed it: NOT_CONNECTED', async () => {
    const device = await LocalDevice.load(new MemoryKeyStore(), 'laptop-1');
    expect(() => device.ref).toThrow(expect.objectContaining({ name: 'ClientError', code: 'NOT_CONNECTED' }));
    device.identity = {
      agency: 'UA-NPU',
      agencyKind: 'police',
      country: 'UA',
      officer: 'o.petrenko',
      roles: ['officer'],
      expiresAt: 0,
    };
    expect(device.ref).toEqual({ agency: 'UA-NPU', officer: 'o.petrenko', device: 'laptop-1' });
    expect(device.address).toBe('UA-NPU/o.petrenko/laptop-1');
  });
});
