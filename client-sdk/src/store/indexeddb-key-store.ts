import type { KeyStore } from './key-store.js';
import { checkKey, checkPrefix, copyJsonValue } from './values.js';

/** The database {@link IndexedDbKeyStore.open} uses when no name is given. */
export const DEFAULT_INDEXEDDB_NAME = 'ncp-hub-keys';

/** The one object store of the database; keys are the store's keys, values are stored as they are. */
const OBJECT_STORE = 'entries';
const DATABASE_VERSION = 1;

/** Options of {@link IndexedDbKeyStore.open}. */
export interface IndexedDbKeyStoreOptions {
  /** The database name, `'ncp-hub-keys'` by default. One database per device identity. */
  name?: string;
  /** The IndexedDB to use, `globalThis.indexedDB` by default (tests pass `fake-indexeddb`'s). */
  indexedDB?: IDBFactory;
}

/**
 * A {@link KeyStore} in the browser's IndexedDB: a database with one object store, each
 * operation in its own transaction (writes with `durability: 'strict'`, resolved when the
 * transaction has committed). Several stores (tabs) may use the same database; when another
 * connection upgrades or deletes it, this store closes itself.
 *
 * Values are kept as structured-clone records, readable by the page's origin only: IndexedDB is
 * not encrypted at rest beyond what the browser and the operating system do.
 *
 * @example
 * ```ts
 * const store = await IndexedDbKeyStore.open({ name: 'ncp-hub-keys' });
 * await store.set('device/id', 'dev-7f3a');
 * const id = await store.get<string>('device/id');
 * await store.close();
 * ```
 */
export class IndexedDbKeyStore implements KeyStore {
  /** The database name. */
  readonly name: string;
  readonly #db: IDBDatabase;
  readonly #factory: IDBFactory;
  readonly #pending = new Set<Promise<unknown>>();
  /** Why the store is closed, or `undefined` while it is open. */
  #closed: string | undefined;

  private constructor(db: IDBDatabase, factory: IDBFactory, name: string) {
    this.#db = db;
    this.#factory = factory;
    this.name = name;
    db.onversionchange = () => {
      this.#closed ??= 'another connection is upgrading or deleting its database';
      db.close();
    };
    db.onclose = () => {
      this.#closed ??= 'the browser closed its database';
    };
  }

  /**
   * Opens (creating it when needed) the key store database `options.name` (`'ncp-hub-keys'`
   * by default). Rejects with an `Error` when IndexedDB is not available (Node.js, some
   * private browsing modes) or the database cannot be opened.
   *
   * @example
   * ```ts
   * // In a browser:
   * const store = await IndexedDbKeyStore.open();
   * // In tests under Node.js:
   * import { indexedDB } from 'fake-indexeddb';
   * const testStore = await IndexedDbKeyStore.open({ name: 'test-keys', indexedDB });
   * ```
   */
  static async open(options: IndexedDbKeyStoreOptions = {}): Promise<IndexedDbKeyStore> {
    const name = options.name ?? DEFAULT_INDEXEDDB_NAME;
    if (typeof name !== 'string' || name === '')
      throw new TypeError('IndexedDbKeyStore: name must be a non-empty string');
    const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (factory === undefined || factory === null) {
      throw new Error(
        'IndexedDbKeyStore: IndexedDB is not available here; pass options.indexedDB, or use another key store ' +
          '(FileKeyStore from @ncp-hub/client-sdk/node in Node.js, MemoryKeyStore to keep nothing)',
      );
    }
    let db: IDBDatabase;
    try {
      db = await openDatabase(factory, name);
    } catch (error) {
      throw new Error(`IndexedDbKeyStore: cannot open the database "${name}": ${messageOf(error)}`, { cause: error });
    }
    if (!db.objectStoreNames.contains(OBJECT_STORE)) {
      db.close();
      throw new Error(`IndexedDbKeyStore: the database "${name}" exists but is not a key store (no "${OBJECT_STORE}")`);
    }
    return new IndexedDbKeyStore(db, factory, name);
  }

  /**
   * The value stored under `key` (a copy), or `undefined`.
   *
   * @example
   * ```ts
   * const fingerprints = (await store.get<string[]>('devices/FR/officer-1')) ?? [];
   * ```
   */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    checkKey(key);
    const value = await this.#run('get', 'readonly', (objectStore) => {
      const request = objectStore.get(key);
      return () => request.result as unknown;
    });
    return value as T | undefined;
  }

  /**
   * Stores a copy of `value` under `key`; resolves once the transaction has committed. A
   * `TypeError` for a key or value outside the {@link KeyStore} contract.
   *
   * @example
   * ```ts
   * await store.set('devices/FR/officer-1', ['fp-1', 'fp-2']);
   * ```
   */
  async set(key: string, value: unknown): Promise<void> {
    checkKey(key);
    const copy = copyJsonValue(value);
    await this.#run('set', 'readwrite', (objectStore) => {
      objectStore.put(copy, key);
      return () => undefined;
    });
  }

  /**
   * Removes `key`; does nothing when it is not stored. Resolves once the transaction has
   * committed.
   *
   * @example
   * ```ts
   * await store.delete('devices/FR/officer-1');
   * ```
   */
  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.#run('delete', 'readwrite', (objectStore) => {
      objectStore.delete(key);
      return () => undefined;
    });
  }

  /**
   * The keys that start with `prefix` (every key without one), sorted by UTF-16 code units.
   * Only the keys with the prefix are read (a key cursor that skips to the prefix).
   *
   * @example
   * ```ts
   * const pinnedAgencies = await store.keys('pin/agency/');
   * ```
   */
  async keys(prefix?: string): Promise<string[]> {
    checkPrefix(prefix);
    return this.#run('keys', 'readonly', (objectStore) => {
      const found: string[] = [];
      if (!prefix) {
        const request = objectStore.getAllKeys();
        request.onsuccess = () => {
          for (const key of request.result) if (typeof key === 'string') found.push(key);
        };
        return () => found;
      }
      const request = objectStore.openKeyCursor();
      request.onsuccess = () => {
        const cursor = request.result;
        if (!cursor) return;
        const key = cursor.key;
        if (this.#factory.cmp(key, prefix) < 0) {
          cursor.continue(prefix); // skip to the first key that may have the prefix
        } else if (typeof key === 'string' && key.startsWith(prefix)) {
          found.push(key);
          cursor.continue();
        } // else: past every key with the prefix (they are contiguous); the transaction ends
      };
      return () => found;
    });
  }

  /**
   * Waits for the operations under way, then closes the database connection; every later
   * operation rejects. Closing twice does nothing.
   *
   * @example
   * ```ts
   * await store.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed === undefined) {
      this.#closed = 'it was closed';
      this.#db.close(); // the connection closes once its transactions have finished
    }
    await Promise.allSettled([...this.#pending]);
  }

  /**
   * Runs one transaction on the object store: `operation` makes its requests and gives a
   * function that reads the result once the transaction has committed.
   */
  #run<R>(what: string, mode: IDBTransactionMode, operation: (objectStore: IDBObjectStore) => () => R): Promise<R> {
    if (this.#closed !== undefined) {
      return Promise.reject(new Error(`IndexedDbKeyStore "${this.name}" is closed: ${this.#closed}`));
    }
    const done = new Promise<R>((resolve, reject) => {
      const fail = (error: unknown) =>
        reject(new Error(`IndexedDbKeyStore "${this.name}": ${what} failed: ${messageOf(error)}`, { cause: error }));
      try {
        const transaction =
          mode === 'readwrite'
            ? this.#db.transaction(OBJECT_STORE, mode, { durability: 'strict' })
            : this.#db.transaction(OBJECT_STORE, mode);
        const result = operation(transaction.objectStore(OBJECT_STORE));
        transaction.oncomplete = () => resolve(result());
        // A failed request aborts its transaction (its error event is not cancelled).
        transaction.onabort = () => fail(transaction.error ?? new Error('the transaction was aborted'));
      } catch (error) {
        fail(error);
      }
    });
    this.#pending.add(done);
    const forget = () => this.#pending.delete(done);
    done.then(forget, forget);
    return done;
  }
}

/** Opens `name` at {@link DATABASE_VERSION}, creating its object store on first use. */
function openDatabase(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = factory.open(name, DATABASE_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(OBJECT_STORE)) db.createObjectStore(OBJECT_STORE);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('unknown error'));
  });
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  // DOMException is an Error in browsers and in Node.js; anything else is described, not shown.
  return `a thrown ${typeof error}`;
}
