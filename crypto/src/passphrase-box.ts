import { base64urlOfBytes, ClientError, fromBase64url, toBase64url } from '@ncp-hub/protocol';
import { z } from 'zod';

/**
 * Bytes sealed under a passphrase: Argon2id (`crypto_pwhash`, `ALG_ARGON2ID13`) derives a
 * 32-byte key from the passphrase and a random 16-byte salt, and `crypto_secretbox_easy`
 * (XSalsa20-Poly1305) seals the bytes with it under a random 24-byte nonce. The Argon2id
 * parameters travel with the box, so later exports can raise them and older ones still open.
 * Every byte string is unpadded base64url.
 *
 * Format version 1, as JSON:
 * `{ "v": 1, "kdf": { "alg": "argon2id13", "opslimit": 3, "memlimit": 268435456, "salt": "…" }, "nonce": "…", "box": "…" }`
 */
export interface PassphraseBox {
  v: 1;
  kdf: { alg: 'argon2id13'; opslimit: number; memlimit: number; salt: string };
  nonce: string;
  box: string;
}

/** Argon2id work factors: passes over memory, and memory in bytes. */
export interface PassphraseLimits {
  opslimit: number;
  memlimit: number;
}

/**
 * The Argon2id limits this module knows. `moderate` (libsodium's `OPSLIMIT_MODERATE` /
 * `MEMLIMIT_MODERATE`: 3 passes, 256 MiB) is the default: a box holds secret keys and may be
 * copied and attacked offline for years, and it is made and opened rarely (about a second in
 * Node, a few in a browser tab). `interactive` (2 passes, 64 MiB) is also the floor: a box
 * with less is refused. `ceiling` bounds what an opened box may ask for (1 GiB, 16 passes),
 * so a crafted box cannot make the tab allocate without limit.
 */
export const PASSPHRASE_LIMITS = {
  moderate: { opslimit: 3, memlimit: 268_435_456 },
  interactive: { opslimit: 2, memlimit: 67_108_864 },
  ceiling: { opslimit: 16, memlimit: 1_073_741_824 },
} as const satisfies Record<string, PassphraseLimits>;

/** The shortest passphrase a device export (`sealWithPassphrase`) takes, in characters. */
export const MIN_PASSPHRASE_LENGTH = 8;

const SALT_BYTES = 16;
const NONCE_BYTES = 24;
const KEY_BYTES = 32;
const MAC_BYTES = 16;

const passphraseBoxSchema = z.strictObject({
  v: z.literal(1),
  kdf: z.strictObject({
    alg: z.literal('argon2id13'),
    opslimit: z.number().int(),
    memlimit: z.number().int(),
    salt: base64urlOfBytes(SALT_BYTES),
  }),
  nonce: base64urlOfBytes(NONCE_BYTES),
  box: z.string().regex(/^[A-Za-z0-9_-]*$/),
});

type SodiumSumo = typeof import('libsodium-wrappers-sumo').default;
let sumo: Promise<SodiumSumo> | undefined;

/**
 * libsodium's "sumo" build, which alone has `crypto_pwhash`. Loaded on first use only, so
 * an application that never exports keys never loads it (a bundler puts it in its own chunk).
 */
function getSodiumSumo(): Promise<SodiumSumo> {
  sumo ??= import('libsodium-wrappers-sumo').then(async (module) => {
    await module.default.ready;
    return module.default;
  });
  return sumo;
}

function withinLimits(limits: PassphraseLimits): boolean {
  const { interactive: floor, ceiling } = PASSPHRASE_LIMITS;
  return (
    Number.isSafeInteger(limits.opslimit) &&
    Number.isSafeInteger(limits.memlimit) &&
    limits.opslimit >= floor.opslimit &&
    limits.memlimit >= floor.memlimit &&
    limits.opslimit <= ceiling.opslimit &&
    limits.memlimit <= ceiling.memlimit
  );
}

function invalid(message: string): ClientError {
  return new ClientError('KEY_EXPORT_INVALID', message);
}

/**
 * Seals `plaintext` under `passphrase` (see {@link PassphraseBox}). Throws a `TypeError` for a
 * passphrase shorter than {@link MIN_PASSPHRASE_LENGTH}, a `RangeError` for limits below
 * `PASSPHRASE_LIMITS.interactive` or above `PASSPHRASE_LIMITS.ceiling`.
 *
 * @example
 * ```ts
 * const box = await sealWithPassphrase(new TextEncoder().encode('secret'), 'correct horse battery');
 * JSON.stringify(box); // {"v":1,"kdf":{"alg":"argon2id13",...},"nonce":"...","box":"..."}
 * ```
 */
export async function sealWithPassphrase(
  plaintext: Uint8Array,
  passphrase: string,
  limits: PassphraseLimits = PASSPHRASE_LIMITS.moderate,
): Promise<PassphraseBox> {
  if (typeof passphrase !== 'string' || [...passphrase].length < MIN_PASSPHRASE_LENGTH) {
    throw new TypeError(`passphrase: must be at least ${MIN_PASSPHRASE_LENGTH} characters`);
  }
  if (!withinLimits(limits)) throw new RangeError('passphrase limits: outside the floor and the ceiling');
  const sodium = await getSodiumSumo();
  const salt = sodium.randombytes_buf(SALT_BYTES);
  const nonce = sodium.randombytes_buf(NONCE_BYTES);
  const key = sodium.crypto_pwhash(
    KEY_BYTES,
    passphrase,
    salt,
    limits.opslimit,
    limits.memlimit,
    sodium.crypto_pwhash_ALG_ARGON2ID13,
  );
  const box = sodium.crypto_secretbox_easy(plaintext, nonce, key);
  sodium.memzero(key);
  return {
    v: 1,
    kdf: {
      alg: 'argon2id13',
      opslimit: limits.opslimit,
      memlimit: limits.memlimit,
      salt: toBase64url(salt),
    },
    nonce: toBase64url(nonce),
    box: toBase64url(box),
  };
}

/**
 * The bytes sealed in `sealed` (a {@link PassphraseBox}, parsed JSON). Throws a `ClientError`
 * with code `KEY_EXPORT_INVALID` when `sealed` is not a version-1 box, asks for limits outside
 * `PASSPHRASE_LIMITS` (below `interactive`, above `ceiling`), or does not open with
 * `passphrase` (a wrong passphrase and a changed byte are not told apart).
 *
 * @example
 * ```ts
 * const bytes = await openWithPassphrase(JSON.parse(text), 'correct horse battery');
 * ```
 */
export async function openWithPassphrase(sealed: unknown, passphrase: string): Promise<Uint8Array> {
  const parsed = passphraseBoxSchema.safeParse(sealed);
  if (!parsed.success) throw invalid('not a version 1 passphrase-protected export');
  const { kdf, nonce, box } = parsed.data;
  if (!withinLimits(kdf)) throw invalid('the export asks for Argon2id limits outside the accepted range');
  let boxBytes: Uint8Array;
  try {
    boxBytes = fromBase64url(box);
  } catch {
    throw invalid('not a version 1 passphrase-protected export');
  }
  if (boxBytes.length < MAC_BYTES || typeof passphrase !== 'string') {
    throw invalid('the export does not open with this passphrase');
  }
  const sodium = await getSodiumSumo();
  const key = sodium.crypto_pwhash(
    KEY_BYTES,
    passphrase,
    fromBase64url(kdf.salt),
    kdf.opslimit,
    kdf.memlimit,
    sodium.crypto_pwhash_ALG_ARGON2ID13,
  );
  try {
    return sodium.crypto_secretbox_open_easy(boxBytes, fromBase64url(nonce), key);
  } catch {
    throw invalid('the export does not open with this passphrase');
  } finally {
    sodium.memzero(key);
  }
}
