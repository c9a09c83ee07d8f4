import { importDeviceKeys } from '@ncp-hub/crypto';
import {
  openWithPassphrase,
  PASSPHRASE_LIMITS,
  type PassphraseLimits,
  sealWithPassphrase,
} from '@ncp-hub/crypto/passphrase-box';
import { ClientError, type DeviceId, deviceIdSchema } from '@ncp-hub/protocol';
import { z } from 'zod';
import { type KeyStore, MAX_KEY_LENGTH } from '../store/key-store.js';
import { STORE_KEYS } from './store-keys.js';

/** Options of {@link exportDevice}. */
export interface ExportDeviceOptions {
  /**
   * Argon2id work factors; default `PASSPHRASE_LIMITS.moderate` (3 passes, 256 MiB). Never
   * below `PASSPHRASE_LIMITS.interactive` (2 passes, 64 MiB), which tests and small devices use.
   */
  limits?: PassphraseLimits;
}

/**
 * The prefixes of the device's state carried with its keys (see {@link STORE_KEYS}): send
 * sequences (so the moved device does not reuse a sequence number its correspondents have
 * seen), receive state (replays stay refused), known membership chains (a rolled-back chain
 * stays refused), delivered query events, and what was trusted on first use (agency keys,
 * devices' keys, officers' devices: a key swapped by the hub after the move is still seen).
 */
const CARRIED_PREFIXES = ['seq:', 'recv:', 'chain:', 'qevents:', 'trust:'] as const;

const payloadSchema = z.strictObject({
  v: z.literal(1),
  device: deviceIdSchema,
  entries: z.record(z.string(), z.unknown()),
});

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The keys and state of `device` in `store`, sealed under `passphrase`, as a JSON string to
 * save as a file: so that a cleared browser (or a new one) is not a lost device. Import it with
 * {@link importDevice}.
 *
 * **Format** (version 1): `{ "v": 1, "kdf": { "alg": "argon2id13", "opslimit", "memlimit",
 * "salt" }, "nonce", "box" }`, byte strings in unpadded base64url. The key is Argon2id
 * (`crypto_pwhash`, `ALG_ARGON2ID13`) of the passphrase and the random 16-byte salt, with the
 * limits stored in the export; `box` is `crypto_secretbox_easy` under the random 24-byte nonce
 * of the UTF-8 JSON `{ "v": 1, "device": "<id>", "entries": { "<store key>": <value>, … } }`.
 *
 * **Carried**: the device's id and both key pairs (`device:<id>`), and the SDK's state in the
 * store: send sequences, receive state, known membership chains, delivered query events, and
 * the keys trusted on first use (agencies, devices, officers' devices). **Not carried**: other
 * devices' keys in the same store, anything the application stored itself, the attestation
 * (the hub keeps it; the same keys need no new one until it expires) and the token.
 *
 * It is a move, not a copy: after exporting, stop using the device here (a send from the old
 * copy takes a sequence number the moved copy will take again, and correspondents refuse the
 * second as a replay). Rejects with a `TypeError` when the store holds no keys for `device` or
 * the passphrase is shorter than 8 characters, and a `RangeError` for limits out of range.
 *
 * @example
 * ```ts
 * const exported = await exportDevice(store, 'laptop-1', passphrase);
 * download(new Blob([exported], { type: 'application/json' }), 'ncp-device.json');
 * ```
 */
export async function exportDevice(
  store: KeyStore,
  device: DeviceId,
  passphrase: string,
  options: ExportDeviceOptions = {},
): Promise<string> {
  const deviceKey = STORE_KEYS.deviceKeys(device);
  const keys = await store.get(deviceKey);
  if (keys === undefined) throw new TypeError('exportDevice: the store holds no keys for this device');
  const entries: Record<string, unknown> = { [deviceKey]: keys };
  for (const prefix of CARRIED_PREFIXES) {
    for (const key of await store.keys(prefix)) {
      const value = await store.get(key);
      if (value !== undefined) entries[key] = value;
    }
  }
  const plaintext = utf8.encode(JSON.stringify({ v: 1, device, entries }));
  const sealed = await sealWithPassphrase(plaintext, passphrase, options.limits ?? PASSPHRASE_LIMITS.moderate);
  return JSON.stringify(sealed);
}

/**
 * Writes the device sealed in `exported` (from {@link exportDevice}) into `store`, and gives
 * its id: a `HubClient` created with that `store` and `device` is the same device (same keys,
 * same fingerprint, the attestation the hub has still valid) and decrypts what was sent to it.
 *
 * Rejects with a `ClientError` with code `KEY_EXPORT_INVALID` when `exported` is not a
 * version-1 export, when its Argon2id limits are below 2 passes / 64 MiB or above 16 passes /
 * 1 GiB, when it does not open with `passphrase` (a wrong passphrase and a changed byte are not
 * told apart), or when `store` already holds other keys for that device; nothing is written
 * then. Entries of the export replace the store's.
 *
 * @example
 * ```ts
 * const device = await importDevice(store, await file.text(), passphrase);
 * const client = new HubClient({ url, token, device, store });
 * ```
 */
export async function importDevice(store: KeyStore, exported: string, passphrase: string): Promise<DeviceId> {
  let sealed: unknown;
  try {
    sealed = JSON.parse(exported);
  } catch {
    throw new ClientError('KEY_EXPORT_INVALID', 'not a version 1 passphrase-protected export');
  }
  const plaintext = await openWithPassphrase(sealed, passphrase);
  let payload: z.infer<typeof payloadSchema>;
  try {
    payload = payloadSchema.parse(JSON.parse(fromUtf8.decode(plaintext)));
  } catch {
    throw new ClientError('KEY_EXPORT_INVALID', 'the export does not hold a device');
  }
  const deviceKey = STORE_KEYS.deviceKeys(payload.device);
  const entries = Object.entries(payload.entries);
  const carried = (key: string) =>
    key.length <= MAX_KEY_LENGTH && (key === deviceKey || CARRIED_PREFIXES.some((prefix) => key.startsWith(prefix)));
  let keys: ReturnType<typeof importDeviceKeys>;
  try {
    if (!entries.every(([key]) => carried(key))) throw new TypeError('unexpected entry');
    keys = importDeviceKeys(payload.entries[deviceKey]);
  } catch {
    throw new ClientError('KEY_EXPORT_INVALID', 'the export does not hold a device');
  }
  const existing = await store.get(deviceKey);
  if (existing !== undefined) {
    let same = false;
    try {
      same = importDeviceKeys(existing).signing.publicKey.every((byte, i) => byte === keys.signing.publicKey[i]);
    } catch {
      same = false;
    }
    if (!same) throw new ClientError('KEY_EXPORT_INVALID', 'the store already holds other keys for this device');
  }
  for (const [key, value] of entries) await store.set(key, value);
  return payload.device;
}
