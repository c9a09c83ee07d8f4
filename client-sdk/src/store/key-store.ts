/**
 * Where a device keeps its secret keys and its small state: pinned agency keys, known device
 * fingerprints, sequence counters, ids of messages already seen.
 *
 * The contract every implementation keeps ({@link MemoryKeyStore}, {@link IndexedDbKeyStore},
 * and `FileKeyStore` from `@ncp-hub/client-sdk/node`):
 *
 * - **Keys** are strings of 1 to {@link MAX_KEY_LENGTH} (512) UTF-16 code units. Any other key
 *   is refused with a `TypeError`. Use prefixes to group keys, e.g. `pin/agency/FR`.
 * - **Values** are JSON values: strings, finite numbers, booleans, `null`, arrays and plain
 *   objects of these. Anything else (`undefined`, `NaN`, `Infinity`, a `Uint8Array`, a `Date`,
 *   a `Map`, a class instance, a function, a sparse array, a cycle) is refused with a
 *   `TypeError`, at any depth, and nothing is stored. Encode bytes as base64url strings. As in
 *   JSON, an object property whose value is `undefined` (an optional property left unset) is
 *   left out, and `-0` is stored as `0`.
 * - **Values are copied**, both ways: changing a value after `set` does not change what is
 *   stored, and changing a value returned by `get` does not change the store.
 * - `get` of a missing key gives `undefined` (never a stored value, since `undefined` cannot be
 *   stored); `delete` of a missing key does nothing.
 * - `keys(prefix)` lists the keys that start with `prefix` (every key without one), sorted by
 *   UTF-16 code units, as IndexedDB sorts them.
 * - A write has completed (and, for persistent stores, is durable) when its promise resolves.
 *   Operations started without awaiting each other are all applied, none is lost.
 * - After `close()`, every operation rejects with an `Error`.
 *
 * @example
 * ```ts
 * async function nextSequence(store: KeyStore, conversationId: string): Promise<number> {
 *   const key = `seq/${conversationId}`;
 *   const next = ((await store.get<number>(key)) ?? 0) + 1;
 *   await store.set(key, next);
 *   return next;
 * }
 * ```
 */
export interface KeyStore {
  /**
   * The value stored under `key` (a copy), or `undefined` when there is none. `T` is not
   * checked: it is the caller's word for what was stored.
   *
   * @example
   * ```ts
   * const pinned = await store.get<string[]>('pin/agency/FR');
   * ```
   */
  get<T = unknown>(key: string): Promise<T | undefined>;

  /**
   * Stores a copy of `value` under `key`, replacing any value there. Rejects with a
   * `TypeError` when `key` or `value` breaks the contract (see {@link KeyStore}), and nothing
   * is stored then.
   *
   * @example
   * ```ts
   * await store.set('pin/agency/FR', ['kid-2025-01', 'kid-2025-07']);
   * ```
   */
  set(key: string, value: unknown): Promise<void>;

  /**
   * Removes `key` and its value; does nothing when `key` is not stored.
   *
   * @example
   * ```ts
   * await store.delete('device/secret/old');
   * ```
   */
  delete(key: string): Promise<void>;

  /**
   * The stored keys that start with `prefix` (every key without one), sorted by UTF-16 code
   * units.
   *
   * @example
   * ```ts
   * const seen = await store.keys('seen/'); // ['seen/msg-1', 'seen/msg-2', ...]
   * ```
   */
  keys(prefix?: string): Promise<string[]>;

  /**
   * Waits for pending writes and releases the store (a database connection, a file); every
   * later operation rejects. Closing twice does nothing.
   *
   * @example
   * ```ts
   * await store.close?.();
   * ```
   */
  close?(): Promise<void>;
}

/** The longest key a {@link KeyStore} accepts, in UTF-16 code units. */
export const MAX_KEY_LENGTH = 512;

/** A JSON value: what a {@link KeyStore} stores, and what `get` gives back. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
