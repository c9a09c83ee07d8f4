import { describe, expect, it } from 'vitest';
import { MemoryKeyStore } from '../../src/store/index.js';
import { describeKeyStoreContract } from './key-store-contract.js';

describeKeyStoreContract('MemoryKeyStore', async () => ({ store: new MemoryKeyStore() }));

describe('MemoryKeyStore', () => {
  it('keeps nothing between instances', async () => {
    const first = new MemoryKeyStore();
    await first.set('k', 1);
    expect(await new MemoryKeyStore().get('k')).toBeUndefined();
  });
});
