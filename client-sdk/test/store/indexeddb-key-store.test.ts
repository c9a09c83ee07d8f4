import { randomUUID } from 'node:crypto';
import { indexedDB } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { DEFAULT_INDEXEDDB_NAME, IndexedDbKeyStore } from '../../src/store/index.js';
import { describeKeyStoreContract } from './key-store-contract.js';

const uniqueName = () => `test-keys-${randomUUID()}`;

describeKeyStoreContract('IndexedDbKeyStore', async () => {
  const name = uniqueName();
  return {
    store: await IndexedDbKeyStore.open({ name, indexedDB }),
    reopen: () => IndexedDbKeyStore.open({ name, indexedDB }),
  };
});

/** Resolves with the result of an IndexedDB request. */
function settle<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

describe('IndexedDbKeyStore', () => {
  it('says clearly when IndexedDB is not available', async () => {
    expect((globalThis as { indexedDB?: unknown }).indexedDB).toBeUndefined(); // Node.js has none
    await expect(IndexedDbKeyStore.open()).rejects.toThrow(/IndexedDB is not available/);
    await expect(IndexedDbKeyStore.open({ name: 'x' })).rejects.toThrow(/pass options.indexedDB/);
  });

  it(`uses the database "${DEFAULT_INDEXEDDB_NAME}" by default, with one object store`, async () => {
    const store = await IndexedDbKeyStore.open({ indexedDB });
    expect(store.name).toBe('ncp-hub-keys');
    await store.set('k', 1);
    await store.close();
    expect((await indexedDB.databases()).map((db) => db.name)).toContain('ncp-hub-keys');
    const db = await settle(indexedDB.open('ncp-hub-keys'));
    expect([...db.objectStoreNames]).toEqual(['entries']);
    db.close();
    await settle(indexedDB.deleteDatabase('ncp-hub-keys'));
  });

  it('keeps databases of different names apart', async () => {
    const one = await IndexedDbKeyStore.open({ name: uniqueName(), indexedDB });
    const two = await IndexedDbKeyStore.open({ name: uniqueName(), indexedDB });
    await one.set('k', 'one');
    expect(await two.get('k')).toBeUndefined();
    await Promise.all([one.close(), two.close()]);
  });

  it('shares a database between two stores of the same name (two tabs)', async () => {
    const name = uniqueName();
    const tab1 = await IndexedDbKeyStore.open({ name, indexedDB });
    const tab2 = await IndexedDbKeyStore.open({ name, indexedDB });
    await tab1.set('k', 'from tab 1');
    expect(await tab2.get('k')).toBe('from tab 1');
    await Promise.all([tab1.close(), tab2.close()]);
  });

  it('refuses a database of that name that is not a key store', async () => {
    const name = uniqueName();
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => request.result.createObjectStore('something-else');
    (await settle(request)).close();
    await expect(IndexedDbKeyStore.open({ name, indexedDB })).rejects.toThrow(/is not a key store/);
  });

  it('reports a database it cannot open (a newer version) with its name', async () => {
    const name = uniqueName();
    (await settle(indexedDB.open(name, 5))).close();
    await expect(IndexedDbKeyStore.open({ name, indexedDB })).rejects.toThrow(
      new RegExp(`cannot open the database "${name}": VersionError`),
    );
  });

  it('closes itself when another connection deletes the database, without blocking it', async () => {
    const name = uniqueName();
    const store = await IndexedDbKeyStore.open({ name, indexedDB });
    await store.set('k', 1);
    await settle(indexedDB.deleteDatabase(name));
    await expect(store.get('k')).rejects.toThrow(/closed: another connection is upgrading or deleting/);
  });

  it('finishes the writes under way before close resolves', async () => {
    const name = uniqueName();
    const store = await IndexedDbKeyStore.open({ name, indexedDB });
    const writes = Array.from({ length: 20 }, (_, i) => store.set(`k/${i}`, i));
    await store.close();
    await Promise.all(writes);
    const reopened = await IndexedDbKeyStore.open({ name, indexedDB });
    expect(await reopened.keys('k/')).toHaveLength(20);
    await reopened.close();
  });

  it('lists only its string keys, by prefix, among keys of other types', async () => {
    const name = uniqueName();
    const store = await IndexedDbKeyStore.open({ name, indexedDB });
    await store.set('a/1', 1);
    await store.set('b', 2);
    const db = await settle(indexedDB.open(name));
    const transaction = db.transaction('entries', 'readwrite');
    const objectStore = transaction.objectStore('entries');
    objectStore.put('number', 5);
    objectStore.put('date', new Date(0));
    objectStore.put('array', ['a/2']);
    await new Promise((resolve) => {
      transaction.oncomplete = resolve;
    });
    db.close();
    expect(await store.keys()).toEqual(['a/1', 'b']);
    expect(await store.keys('a/')).toEqual(['a/1']);
    expect(await store.keys('b')).toEqual(['b']);
    expect(await store.keys('c')).toEqual([]);
    await store.close();
  });
});
