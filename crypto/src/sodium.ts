import sodium from 'libsodium-wrappers';

/** The libsodium-wrappers module, once its WebAssembly is initialised. */
export type Sodium = typeof sodium;

let ready: Promise<Sodium> | undefined;

/**
 * libsodium, initialised. The first call starts the (asynchronous) initialisation; every
 * call returns the same promise, so awaiting it is cheap.
 *
 * @example
 * ```ts
 * const sodium = await getSodium();
 * const digest = sodium.crypto_generichash(32, new Uint8Array([1, 2, 3]), null);
 * ```
 */
export function getSodium(): Promise<Sodium> {
  ready ??= sodium.ready.then(() => sodium);
  return ready;
}

/** `getRandomValues` fills at most 65,536 bytes per call. */
const MAX_RANDOM_CHUNK = 65_536;

/**
 * `n` cryptographically secure random bytes from `globalThis.crypto.getRandomValues`
 * (Web Crypto: browsers and Node 20), which is much faster than libsodium's `randombytes_buf`.
 *
 * @example
 * ```ts
 * const messageKey = randomBytes(32);
 * ```
 */
export function randomBytes(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError('randomBytes: n must be a non-negative integer');
  }
  const bytes = new Uint8Array(n);
  for (let offset = 0; offset < n; offset += MAX_RANDOM_CHUNK) {
    globalThis.crypto.getRandomValues(bytes.subarray(offset, Math.min(n, offset + MAX_RANDOM_CHUNK)));
  }
  return bytes;
}
