// Key stores: where a device keeps its secret keys and its small state (see KeyStore).
export {
  DEFAULT_INDEXEDDB_NAME,
  IndexedDbKeyStore,
  type IndexedDbKeyStoreOptions,
} from './indexeddb-key-store.js';
export { type JsonValue, type KeyStore, MAX_KEY_LENGTH } from './key-store.js';
export { MemoryKeyStore } from './memory-key-store.js';
