import type { JsonValue, KeyStore } from './key-store.js';
import { checkKey, copyJsonValue, entryKeys, readEntry } from './values.js';

/**
 * A {@link KeyStore} in memory: nothing survives the process (or the page). For tests, and for
 * devices that must not keep anything.
 *
 * @example
 * ```ts
 * const store = new MemoryKeyStore();
 * await store.set('seen/msg-1', true);
 * await store.keys('seen/'); // ['seen/msg-1']
 * ```
 */
export class MemoryKeyStore implements KeyStore {
  readonly #entries = new Map<string, JsonValue>();
  #closed = false;

  /**
   * The value stored under `key` (a copy), or `undefined`.
   *
   * @example
   * ```ts
   * const counter = (await store.get<number>('seq/conversation-1')) ?? 0;
   * ```
   */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    this.#checkOpen();
    return readEntry<T>(this.#entries, key);
  }

  /**
   * Stores a copy of `value` under `key`; a `TypeError` for a key or value outside the {@link KeyStore} contract.
   *
   * @example
   * ```ts
   * await store.set('seq/conversation-1', 42);
   * ```
   */
  async set(key: string, value: unknown): Promise<void> {
    this.#checkOpen();
    checkKey(key);
    this.#entries.set(key, copyJsonValue(value));
  }

  /**
   * Removes `key`; does nothing when it is not stored.
   *
   * @example
   * ```ts
   * await store.delete('seq/conversation-1');
   * ```
   */
  async delete(key: string): Promise<void> {
    this.#checkOpen();
    checkKey(key);
    this.#entries.delete(key);
  }

  /**
   * The keys that start with `prefix` (every key without one), sorted.
   *
   * @example
   * ```ts
   * const counters = await store.keys('seq/');
   * ```
   */
  async keys(prefix?: string): Promise<string[]> {
    this.#checkOpen();
    return entryKeys(this.#entries, prefix);
  }

  /**
   * Forgets every entry; every later operation rejects.
   *
   * @example
   * ```ts
   * await store.close();
   * ```
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#entries.clear();
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('MemoryKeyStore is closed');
  }
}
